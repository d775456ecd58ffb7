// The measured fidelity gap of issue 15: on a real PVE 7.4 recording the pvesh source's LXC config
// lacked the container's raw `lxc.*` lines that the files source reports, because `…/pending`
// leaves array values out. The path sources now add them (pvesh: from the config file through the
// pmxcfs helper; api: `…/config?current=1`), and both agree with the file.
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { normalizeApiConfig, parseGuestConfigFile, unwrapEnvelope } from '@nanny/proxmox';
import { pathReaderParts } from './path-reader.ts';
import type { Params } from './types.ts';

const json = (u: URL): unknown => JSON.parse(readFileSync(u, 'utf8'));
const own = (p: string) => new URL(`../../../proxmox/fixtures/${p}`, import.meta.url);
const REF = new URL('../../../../../shared/pve-reference/fixtures/', import.meta.url);

/** A source's reader over canned answers: `config` is the `…/config?current=1` answer. */
function reader(pending: unknown, config: unknown, rawFrom: 'file' | 'api' | 'none', fileText: string) {
  const get = async (path: string, params?: Params) => {
    if (path.endsWith('/pending')) return unwrapEnvelope(pending);
    if (path.endsWith('/config') && params?.current === 1) return unwrapEnvelope(config);
    throw new Error(`unexpected ${path}`);
  };
  const raw =
    rawFrom === 'none'
      ? undefined
      : rawFrom === 'api'
        ? async (node: string, vmid: number) => {
            const l = normalizeApiConfig(
              'lxc',
              await get(`/nodes/${node}/lxc/${vmid}/config`, { current: 1 }),
            ).data.lxc;
            return typeof l === 'string' ? l : undefined;
          }
        : async () => {
            const l = parseGuestConfigFile(fileText, 'lxc').data.current.lxc;
            return typeof l === 'string' ? l : undefined;
          };
  return pathReaderParts(get, raw);
}

test('project fixture: pvesh and api configs carry the lxc.* lines the file has; /pending alone does not', async () => {
  const file = readFileSync(own('conf/lxc-101.conf'), 'utf8');
  const fromFile = parseGuestConfigFile(file, 'lxc').data.current.lxc;
  assert.equal(typeof fromFile, 'string');
  const pending = json(own('api/lxc-101.pending.json'));
  const config = json(own('api/lxc-101.config-current.json'));
  for (const via of ['file', 'api'] as const) {
    const c = await reader(pending, config, via, file).guestConfig('pve1', 'lxc', 101);
    assert.equal(c.current.lxc, fromFile, via);
  }
  const gap = await reader(pending, config, 'none', file).guestConfig('pve1', 'lxc', 101);
  assert.equal(gap.current.lxc, undefined, 'the gap: /pending has no lxc key');
});

test('the PVE 7.4 recording (go-proxmox pve7x lxc-101): five raw lines, the same from every source', async (t) => {
  const rec = new URL('go-proxmox/pve7x.lxc-101.config.json', REF);
  if (!requires(t, 'reference', existsSync(rec), 'no ../shared/pve-reference (conformance data)')) return;
  const answer = unwrapEnvelope(json(rec)) as Record<string, unknown>;
  const pairs = answer.lxc as [string, string][];
  assert.equal(pairs.length, 5);
  // what /pending answers for that config: every non-array key as {key, value}, digest included
  const pending = Object.entries(answer)
    .filter(([k]) => k !== 'lxc')
    .map(([key, value]) => ({ key, value }));
  // the container's file as pve-container writes it: keys, then the raw lxc.* lines
  const file =
    Object.entries(answer)
      .filter(([k]) => k !== 'lxc' && k !== 'digest')
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('\n') +
    '\n' +
    pairs.map(([k, v]) => `${k}: ${v}`).join('\n') +
    '\n';
  const { digest: _fd, ...fromFile } = parseGuestConfigFile(file, 'lxc').data.current;
  assert.equal(String(fromFile.lxc).split('\n').length, 5);
  for (const via of ['file', 'api'] as const) {
    const c = await reader(pending, answer, via, file).guestConfig('node1', 'lxc', 101);
    const { digest: _d, ...current } = c.current;
    assert.deepEqual(current, fromFile, `${via}: the source's config equals the file's`);
  }
});
