/**
 * The on-disk spool: what was collected and not yet delivered, in order.
 *
 * Layout in `<stateDir>/spool/`: one file per `push` (a cycle stage: the node report, the cluster
 * report, the guest reports), named by a zero-padded sequence number, holding one JSON item per
 * line. Each file is written to a temporary name, fsync'd, renamed and the directory fsync'd, so a
 * file is either complete or absent after a crash. Delivery progress inside the head file is kept
 * in `cursor.json` (rewritten, not fsync'd: after a crash at worst a few items are sent twice, and
 * the API's ingest is an idempotent upsert). The spool is bounded by item count; when full the
 * oldest items are dropped with a warning. Like the state directory, the spool directory must be
 * private (0700, ours) and no file in it is opened through a symbolic link.
 */
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import type { Logger } from './log.ts';
import { checkPrivateDir, createExclusive, readNoFollow } from './state.ts';

export interface SpoolItem {
  endpoint: string;
  body: unknown;
  /** ISO time the item was queued */
  queued_at: string;
}

export interface Spool {
  open(): Promise<void>;
  push(items: readonly SpoolItem[]): Promise<void>;
  /** the oldest undelivered item */
  peek(): Promise<SpoolItem | undefined>;
  /** removes the item `peek` returned (a no-op when it was dropped meanwhile) */
  ack(item: SpoolItem): Promise<void>;
  depth(): number;
}

interface SpoolFile {
  name: string;
  seq: number;
  count: number;
  items?: SpoolItem[];
}

const FILE_RE = /^(\d{12})\.jsonl$/;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function parseLines(text: string, log: Logger, name: string): SpoolItem[] {
  const items: SpoolItem[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      items.push(JSON.parse(line) as SpoolItem);
    } catch {
      log.warn(`spool: skipping an unreadable line in ${name}`);
    }
  }
  return items;
}

export function createSpool(opts: { dir: string; maxItems: number; log: Logger }): Spool {
  const { dir, maxItems, log } = opts;
  const files: SpoolFile[] = [];
  let cursor = 0; // index of the next item in files[0]
  let nextSeq = 1;
  let total = 0; // undelivered items
  let chain: Promise<unknown> = Promise.resolve();
  const cursorPath = join(dir, 'cursor.json');

  /** Serialises mutations: push and ack interleave between awaits otherwise. */
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };

  const saveCursor = async (): Promise<void> => {
    const head = files[0];
    await createExclusive(
      cursorPath + '.tmp',
      JSON.stringify({ file: head?.name ?? null, index: cursor }),
      0o600,
    );
    await rename(cursorPath + '.tmp', cursorPath);
  };

  const loadHead = async (): Promise<SpoolFile | undefined> => {
    const head = files[0];
    if (head && !head.items) {
      head.items = parseLines(await readNoFollow(join(dir, head.name)), log, head.name);
      // The count read at open() is authoritative only if the file is intact.
      total += head.items.length - head.count;
      head.count = head.items.length;
    }
    return head;
  };

  const dropHeadFile = async (): Promise<void> => {
    const head = files.shift();
    cursor = 0;
    if (head) await unlink(join(dir, head.name)).catch(() => undefined);
  };

  return {
    open: () =>
      locked(async () => {
        await checkPrivateDir(dir, process.getuid?.());
        const names = (await readdir(dir)).filter((n) => FILE_RE.test(n)).sort();
        files.length = 0;
        total = 0;
        for (const name of names) {
          const text = await readNoFollow(join(dir, name));
          const count = text.split('\n').filter((l) => l.trim() !== '').length;
          files.push({ name, seq: Number(FILE_RE.exec(name)![1]), count });
          total += count;
        }
        nextSeq = (files.at(-1)?.seq ?? 0) + 1;
        cursor = 0;
        try {
          const c = JSON.parse(await readNoFollow(cursorPath)) as { file: string | null; index: number };
          if (files[0] && c.file === files[0].name && Number.isInteger(c.index) && c.index > 0) {
            cursor = Math.min(c.index, files[0].count);
            total -= cursor;
          }
        } catch {
          /* no cursor: start at the head */
        }
        if (total > 0) log.info(`spool: ${total} undelivered item(s) from before the restart`);
      }),

    push: (items) =>
      locked(async () => {
        if (items.length === 0) return;
        const name = String(nextSeq++).padStart(12, '0') + '.jsonl';
        const tmp = join(dir, `.${name}.tmp`);
        await createExclusive(tmp, items.map((i) => JSON.stringify(i)).join('\n') + '\n', 0o600);
        await rename(tmp, join(dir, name));
        await fsyncDir(dir);
        files.push({ name, seq: nextSeq - 1, count: items.length, items: [...items] });
        total += items.length;
        let dropped = 0;
        while (total > maxItems && files.length > 0) {
          const head = files[0]!;
          const excess = total - maxItems;
          const left = head.count - cursor;
          if (excess >= left) {
            dropped += left;
            total -= left;
            await dropHeadFile();
          } else {
            cursor += excess;
            dropped += excess;
            total -= excess;
          }
        }
        if (dropped > 0) {
          log.warn(`spool full (${maxItems} items): dropped the ${dropped} oldest undelivered item(s)`);
          await saveCursor();
        }
      }),

    peek: () =>
      locked(async () => {
        for (;;) {
          const head = await loadHead();
          if (!head) return undefined;
          const item = head.items![cursor];
          if (item) return item;
          await dropHeadFile();
          await saveCursor();
        }
      }),

    ack: (item) =>
      locked(async () => {
        const head = files[0];
        if (!head || head.items?.[cursor] !== item) return;
        cursor++;
        total--;
        if (cursor >= head.count) await dropHeadFile();
        await saveCursor();
      }),

    depth: () => total,
  };
}
