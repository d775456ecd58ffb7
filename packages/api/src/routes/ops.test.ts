import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC } from '../testing.ts';

// A sample line of the text exposition 0.0.4: name, optional {label="value",...}, value. Inside a
// value only \\, \" and \n are escapes and a raw newline or quote cannot appear.
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*",?)*\})? \S+$/;

test('/metrics stays one sample per line when node and guest names hold quotes, backslashes and control characters', async () => {
  const t = await makeTestApp();
  try {
    const a = await t.register();
    const evil = 'pve"} 1\nnanny_injected 1\r\t\u0000\\x';
    assert.equal((await t.post('/api/proxmox/node', a.access, { ...SPEC.node, name: evil })).status, 200);
    const guest = { ...SPEC.lxc, node: evil, name: 'web\n"01"' };
    assert.equal((await t.post('/api/proxmox/lxc', a.access, guest)).status, 200);
    await t.app.nanny.committer.drain();
    const r = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${await t.pat('read')}` },
    });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const lines = r.body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    for (const l of lines) assert.match(l, SAMPLE);
    assert.ok(!lines.some((l) => l.startsWith('nanny_injected')));
    // no control character but the line ends: \r, \t and NUL became U+FFFD
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    assert.doesNotMatch(r.body, /[\u0000-\u0009\u000b-\u001f\u007f]/);
    assert.ok(r.body.includes('nanny_injected 1\ufffd\ufffd\ufffd\\\\x"'));
    assert.ok(
      lines.some(
        (l) => l.startsWith('nanny_node_online{') && l.includes('node="pve\\"} 1\\nnanny_injected 1'),
      ),
    );
    assert.ok(lines.some((l) => l.startsWith('nanny_guest_running{') && l.includes('name="web\\n\\"01\\""')));
  } finally {
    await t.app.close();
  }
});

test('/metrics of an empty fleet has no made-up samples', async () => {
  const t = await makeTestApp();
  try {
    const r = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${await t.pat('read')}` },
    });
    assert.equal(r.statusCode, 200);
    assert.doesNotMatch(r.body, /^nanny_(cluster|node|guest)_/m);
    assert.match(r.body, /^process_resident_memory_bytes \d+$/m);
  } finally {
    await t.app.close();
  }
});

test('/metrics shows this server’s own figures to the default organisation only, not to other tenants', async () => {
  const t = await makeTestApp();
  try {
    const scrape = async (org?: string) => {
      const r = await t.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${await t.pat('read', org)}` },
      });
      assert.equal(r.statusCode, 200);
      return r.body;
    };
    // traffic of the default organisation that another one must not learn of
    const agent = (await t.register('pve-a')).access;
    assert.equal((await t.post('/api/proxmox/node', agent, { name: 'pve-a' })).status, 200);
    const own = await scrape();
    assert.match(own, /^nannyapi_ingest_reports_total\{kind="node"\} [1-9]\d*$/m);
    assert.match(own, /^nannyapi_http_responses_total\{code="200"\} \d+$/m);
    const other = await scrape('other-org');
    assert.doesNotMatch(other, /^(nannyapi|process|nodejs)_/m);
    assert.doesNotMatch(other, /pve-a/);
  } finally {
    await t.app.close();
  }
});
