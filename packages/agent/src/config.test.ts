import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { loadConfig, parseEnvFile } from './config.ts';
import { AgentError } from './errors.ts';

const files = (map: Record<string, string>) => (p: string) => {
  const t = map[p];
  if (t === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  return t;
};

test('defaults apply when nothing is configured', () => {
  const c = loadConfig({ env: {}, readFile: files({}) });
  assert.equal(c.intervalSeconds, 300);
  assert.equal(c.source, 'auto');
  assert.equal(c.pveRoot, '/etc/pve');
  assert.equal(c.procRoot, '/proc');
  assert.equal(c.stateDir, '/var/lib/nannyagent');
  assert.equal(c.configFile, '/etc/nannyagent/config.env');
});

test('config.env < environment < flags', () => {
  const read = files({
    '/etc/nannyagent/config.env':
      'PROXMOX_INTERVAL=60\nNANNYAGENT_SOURCE=pvesh\nexport NANNYAGENT_STATE_DIR="/srv/state"\n# comment\n',
  });
  const c = loadConfig({
    env: { PROXMOX_INTERVAL: '120', NANNYAGENT_SOURCE: 'files' },
    flags: { source: 'pvesh' },
    readFile: read,
  });
  assert.equal(c.intervalSeconds, 120);
  assert.equal(c.source, 'pvesh');
  assert.equal(c.stateDir, '/srv/state');
});

test('the config file path can be moved with NANNYAGENT_CONFIG or --config', () => {
  const read = files({ '/a.env': 'PROXMOX_INTERVAL=10', '/b.env': 'PROXMOX_INTERVAL=20' });
  assert.equal(loadConfig({ env: { NANNYAGENT_CONFIG: '/a.env' }, readFile: read }).intervalSeconds, 10);
  assert.equal(
    loadConfig({ env: { NANNYAGENT_CONFIG: '/a.env' }, flags: { config: '/b.env' }, readFile: read })
      .intervalSeconds,
    20,
  );
});

test('every configuration error is listed at once', () => {
  const read = files({ '/c.env': 'BOGUS_KEY=1\nnot a line\nNANNYAGENT_LOG_LEVEL=loud\n' });
  try {
    loadConfig({
      env: {
        NANNYAGENT_CONFIG: '/c.env',
        PROXMOX_INTERVAL: '-5',
        NANNYAPI_URL: 'http://api.example.com',
        NANNYAGENT_SPOOL_MAX_ITEMS: '1.5',
        NANNYAPI_FINGERPRINT: 'zz',
      },
      flags: { source: 'api', bogus: '1' },
      readFile: read,
    });
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof AgentError && e.code === 'AGENT_CONFIG');
    const m = e.message;
    for (const needle of [
      'unknown setting BOGUS_KEY',
      'line 2: expected KEY=value',
      'NANNYAGENT_LOG_LEVEL',
      'PROXMOX_INTERVAL: must be a number',
      'plain http:// is refused for api.example.com',
      'NANNYAGENT_SPOOL_MAX_ITEMS: must be an integer',
      'NANNYAPI_FINGERPRINT',
      '--bogus: unknown option',
      'NANNYAGENT_PVE_API_URL (--pve-api-url): required when --source is api',
      'NANNYAGENT_PVE_API_TOKEN (--pve-api-token): required',
    ]) {
      assert.ok(m.includes(needle), `missing "${needle}" in:\n${m}`);
    }
  }
});

test('plain http is allowed to loopback and when explicitly told', () => {
  assert.equal(
    loadConfig({ env: { NANNYAPI_URL: 'http://127.0.0.1:8080/' }, readFile: files({}) }).apiUrl,
    'http://127.0.0.1:8080',
  );
  assert.equal(
    loadConfig({
      env: { NANNYAPI_URL: 'http://api.lan', NANNYAGENT_ALLOW_INSECURE_HTTP: 'yes' },
      readFile: files({}),
    }).apiUrl,
    'http://api.lan',
  );
});

test('fractional intervals and timeouts are accepted for fast tests', () => {
  const c = loadConfig({
    env: { PROXMOX_INTERVAL: '0.2', NANNYAGENT_COMMAND_TIMEOUT: '0.5' },
    readFile: files({}),
  });
  assert.equal(c.intervalSeconds, 0.2);
  assert.equal(c.commandTimeoutMs, 500);
});

test('env files accept quotes, export and comments', () => {
  const r = parseEnvFile('# x\nA=1\nexport B=\'two words\'\n C = "3" \n');
  assert.deepEqual(r.values, { A: '1', B: 'two words', C: '3' });
  assert.deepEqual(r.errors, []);
});

test('a pinned fingerprint is normalised', () => {
  const fp = 'AB:'.repeat(31) + 'AB';
  const c = loadConfig({ env: { NANNYAPI_FINGERPRINT: fp }, readFile: files({}) });
  assert.equal(c.apiTls.fingerprint, 'ab'.repeat(32));
});

test('--enroll-token-file / NANNYAPI_ENROLL_TOKEN_FILE: the token from a file, trimmed; both or a missing file are errors', () => {
  const read = files({ '/run/enroll': 'nanny_enr_abc\n' });
  assert.equal(
    loadConfig({ env: {}, flags: { 'enroll-token-file': '/run/enroll' }, readFile: read }).enrollToken,
    'nanny_enr_abc',
  );
  assert.equal(
    loadConfig({ env: { NANNYAPI_ENROLL_TOKEN_FILE: '/run/enroll' }, readFile: read }).enrollToken,
    'nanny_enr_abc',
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'enroll-token-file': '/nope' }, readFile: read }),
    /--enroll-token-file: cannot read \/nope/,
  );
  assert.throws(
    () =>
      loadConfig({
        env: { NANNYAPI_ENROLL_TOKEN: 'x' },
        flags: { 'enroll-token-file': '/run/enroll' },
        readFile: read,
      }),
    /not both/,
  );
});

test('watch, heartbeat and dpkg status: defaults, 0 turns a rhythm off, bad values listed', () => {
  const d = loadConfig({ env: {}, readFile: files({}) });
  assert.equal(d.watchIntervalSeconds, 5);
  assert.equal(d.heartbeatIntervalSeconds, 60);
  assert.equal(d.dpkgStatus, '/var/lib/dpkg/status');
  const c = loadConfig({
    env: { NANNYAGENT_WATCH_INTERVAL: '0', NANNYAGENT_DPKG_STATUS: '/tmp/status' },
    flags: { 'heartbeat-interval': '0' },
    readFile: files({}),
  });
  assert.equal(c.watchIntervalSeconds, 0);
  assert.equal(c.heartbeatIntervalSeconds, 0);
  assert.equal(c.dpkgStatus, '/tmp/status');
  assert.throws(
    () =>
      loadConfig({
        env: { NANNYAGENT_WATCH_INTERVAL: '-1', NANNYAGENT_HEARTBEAT_INTERVAL: 'often' },
        readFile: files({}),
      }),
    (e: unknown) =>
      e instanceof AgentError &&
      /NANNYAGENT_WATCH_INTERVAL/.test(e.message) &&
      /NANNYAGENT_HEARTBEAT_INTERVAL/.test(e.message),
  );
});
