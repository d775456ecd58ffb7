/**
 * One tag rule for the whole API (@nanny/proxmox tagKey: case-insensitive, as a default PVE): a
 * tag-scoped alert override and the read API's `?tag=` filter pick the same guests.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC } from '../testing.ts';
import { factFromPayload } from './facts.ts';
import { ruleSettings } from './settings.ts';

test('a tag-scoped alert override and ?tag= agree whatever the case of the tag', async () => {
  const t = await makeTestApp();
  try {
    const a = await t.register();
    const guest = { ...SPEC.lxc, tags: 'PROD;Web', config: { ...SPEC.lxc.config, tags: 'PROD;Web' } };
    assert.equal((await t.post('/api/proxmox/lxc', a.access, guest)).status, 200);
    await t.app.nanny.committer.drain();
    const read = await t.pat('read');

    const fact = factFromPayload('lxc', 'c1', guest, 0);
    assert.equal(fact.kind, 'guest');
    const tags = fact.kind === 'guest' ? fact.tags : [];
    for (const spelled of ['Prod', 'prod', 'PROD']) {
      const listed = await t.get(`/api/guests?tag=${spelled}`, read);
      assert.equal(listed.json['total'], 1, `?tag=${spelled}`);
      const s = ruleSettings({ tags: { [spelled]: { cpu_high: { trigger: 0.5 } } } }, 'cpu_high', { tags });
      assert.equal(s.trigger, 0.5, `override keyed ${spelled}`);
    }
    // and neither picks a guest without the tag
    assert.equal((await t.get('/api/guests?tag=db', read)).json['total'], 0);
    const other = ruleSettings({ tags: { db: { cpu_high: { trigger: 0.5 } } } }, 'cpu_high', { tags });
    assert.notEqual(other.trigger, 0.5);
  } finally {
    await t.app.close();
  }
});
