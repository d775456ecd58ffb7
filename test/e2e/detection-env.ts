/**
 * What the detection end-to-end tests share (detection*.test.ts): nannyapi with a read token and a
 * webhook channel to a receiver, and reads of the derived membership.
 */
import { startApi, webhookReceiver, type ApiServer, type Received } from './harness.ts';

export type Row = Record<string, unknown>;
export interface Membership {
  split: boolean;
  partitions: { nodes: string[]; quorate: boolean }[];
  nodes: { name: string; state: string }[];
  views: { reporter: string; quorate: boolean; fresh: boolean }[];
}

export interface Env {
  api: ApiServer;
  read: string;
  hook: { received: Received[] };
}

export async function env(t: Parameters<typeof startApi>[0]): Promise<Env> {
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, { type: 'webhook', name: 'e2e', url: hook.url });
  return { api, read, hook };
}

export const calls = (e: Env, rule: string) => e.hook.received.filter((r) => r.body.rule === rule);
export const eventsOf = async (e: Env, type: string) =>
  e.api.list<Row>(`/api/events?type=${type}&limit=1000`, e.read);

export async function membership(e: Env): Promise<{ id: string; m: Membership }> {
  const [c] = await e.api.list<Row>('/api/clusters', e.read);
  if (!c) throw new Error('no cluster yet');
  const id = String(c.id);
  return { id, m: (await e.api.get<{ data: Membership }>(`/api/clusters/${id}/membership`, e.read)).data };
}

/** Every node online in the derived membership, from a fresh view of each of them. */
export async function allOnline(e: Env, names: string[]): Promise<boolean> {
  const { m } = await membership(e).catch(() => ({ m: undefined }));
  return (
    m !== undefined &&
    m.nodes.length === names.length &&
    m.nodes.every((n) => n.state === 'online') &&
    names.every((n) => m.views.some((v) => v.reporter === n && v.fresh && v.quorate))
  );
}
