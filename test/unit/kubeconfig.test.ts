// The kubeconfig loader's rules, table by table: which file, which context, which paths, which
// credentials; and how credentials are cached and refreshed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import {
  type Kubeconfig,
  loadKubeconfig,
  mergeKubeconfigs,
  parseKubeconfig,
  resolveContext,
} from '../../src/runtime/kubeconfig.ts';
import {
  EXEC_RETRY_MS,
  ExecPlugin,
  parseExecCredential,
  TOKEN_FILE_TTL_MS,
  TokenFile,
} from '../../src/runtime/kubeconfig-auth.ts';

const V1 = 'client.authentication.k8s.io/v1';

function config(clusters: object[], users: object[], contexts: object[], current?: string) {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters,
    users,
    contexts,
    'current-context': current,
  });
}
const one = (cluster: object, user: object, namespace?: string) =>
  config(
    [{ name: 'c', cluster }],
    [{ name: 'u', user }],
    [{ name: 'x', context: { cluster: 'c', user: 'u', namespace } }],
    'x',
  );

/** Files a kubeconfig may name, keyed by absolute path. */
const files: Record<string, string> = {
  '/etc/kc/ca.crt': 'CA-FILE',
  '/etc/kc/client.crt': 'CERT-FILE',
  '/etc/kc/client.key': 'KEY-FILE',
  '/etc/kc/token': 'file-token\n',
  '/abs/ca.crt': 'ABS-CA',
};
const read = (p: string) => {
  const text = files[p];
  if (text === undefined) throw new Error(`cannot read ${p}`);
  return text;
};
const resolve = (text: string) => resolveContext(parseKubeconfig('/etc/kc/config', text), read);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const server = 'https://api.example:6443';

describe('kubeconfig: resolving the current context', () => {
  const cases: {
    name: string;
    cluster: object;
    user?: object;
    tls?: Partial<Kubeconfig['tls']>;
    authorization?: string;
  }[] = [
    {
      name: 'CA file relative to the kubeconfig',
      cluster: { server, 'certificate-authority': 'ca.crt' },
      tls: { ca: 'CA-FILE', rejectUnauthorized: true },
    },
    {
      name: 'absolute CA file',
      cluster: { server, 'certificate-authority': '/abs/ca.crt' },
      tls: { ca: 'ABS-CA', rejectUnauthorized: true },
    },
    {
      name: 'inline CA data wins over the file',
      cluster: { server, 'certificate-authority-data': b64('CA-DATA'), 'certificate-authority': 'ca.crt' },
      tls: { ca: 'CA-DATA', rejectUnauthorized: true },
    },
    {
      name: 'no CA: the system roots',
      cluster: { server },
      tls: { rejectUnauthorized: true },
    },
    {
      name: 'insecure-skip-tls-verify',
      cluster: { server, 'insecure-skip-tls-verify': true },
      tls: { rejectUnauthorized: false },
    },
    {
      name: 'tls-server-name',
      cluster: { server, 'tls-server-name': 'kubernetes.default' },
      tls: { rejectUnauthorized: true, servername: 'kubernetes.default' },
    },
    {
      name: 'client certificate files',
      cluster: { server },
      user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' },
      tls: { rejectUnauthorized: true, cert: 'CERT-FILE', key: 'KEY-FILE' },
    },
    {
      name: 'client certificate data',
      cluster: { server },
      user: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
      tls: { rejectUnauthorized: true, cert: 'CERT', key: 'KEY' },
    },
    { name: 'token', cluster: { server }, user: { token: 'abc' }, authorization: 'Bearer abc' },
    {
      name: 'tokenFile wins over token (it is re-read)',
      cluster: { server },
      user: { token: 'abc', tokenFile: 'token' },
      authorization: 'Bearer file-token',
    },
    {
      name: 'username and password',
      cluster: { server },
      user: { username: 'ann', password: 'pw' },
      authorization: `Basic ${b64('ann:pw')}`,
    },
    { name: 'no user credentials', cluster: { server }, user: {} },
  ];
  for (const c of cases)
    it(c.name, async () => {
      const kc = resolve(one(c.cluster, c.user ?? {}));
      assert.equal(kc.server.href, `${server}/`);
      if (c.tls) assert.deepEqual(kc.tls, c.tls);
      assert.equal((await kc.auth.credentials()).authorization, c.authorization);
    });

  it('reads the context namespace', () => {
    assert.equal(resolve(one({ server }, {}, 'team-a')).namespace, 'team-a');
    assert.equal(resolve(one({ server }, {})).namespace, undefined);
  });

  const errors: [string, string, RegExp][] = [
    ['no current-context', config([{ name: 'c', cluster: { server } }], [], []), /no current-context/],
    ['unknown context', config([], [], [], 'gone'), /current-context "gone" is not among its contexts/],
    [
      'unknown cluster',
      config([], [], [{ name: 'x', context: { cluster: 'nope' } }], 'x'),
      /names no known cluster/,
    ],
    ['no server', one({}, {}), /has no server/],
    ['plain http', one({ server: 'http://127.0.0.1:8080' }, {}), /must be an https:\/\/ URL/],
    [
      'a CA and insecure-skip-tls-verify',
      one({ server, 'insecure-skip-tls-verify': true, 'certificate-authority-data': 'Q0E=' }, {}),
      /both a certificate authority and insecure-skip-tls-verify; remove one/,
    ],
    ['certificate without key', one({ server }, { 'client-certificate': 'client.crt' }), /needs its key/],
    [
      'missing CA file',
      one({ server, 'certificate-authority': 'missing.crt' }, {}),
      /cannot read \/etc\/kc\/missing.crt/,
    ],
    [
      'auth-provider',
      one({ server }, { 'auth-provider': { name: 'gcp' } }),
      /auth-provider "gcp" is not supported/,
    ],
    [
      'unknown exec apiVersion',
      one({ server }, { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } }),
      /apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/,
    ],
    [
      'interactive exec plugin',
      one({ server }, { exec: { apiVersion: V1, command: 'x', interactiveMode: 'Always' } }),
      /needs a terminal/,
    ],
    ['not YAML', 'clusters: [', /not valid YAML/],
  ];
  for (const [name, text, message] of errors)
    it(`error: ${name}`, () => assert.throws(() => resolve(text), message));
});

describe('kubeconfig: merging a KUBECONFIG list', () => {
  it('takes each name and the current-context from the first file that has it', () => {
    const a = parseKubeconfig(
      '/a/config',
      config([{ name: 'c', cluster: { server: 'https://a:1' } }], [{ name: 'u', user: { token: 'a' } }], []),
    );
    const b = parseKubeconfig(
      '/b/config',
      config(
        [
          { name: 'c', cluster: { server: 'https://b:1' } },
          { name: 'd', cluster: { server: 'https://d:1', 'certificate-authority': 'ca.crt' } },
        ],
        [{ name: 'u', user: { token: 'b' } }],
        [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'x',
      ),
    );
    const merged = mergeKubeconfigs([a, b]);
    assert.equal(merged.currentContext, 'x');
    assert.equal(merged.clusters.get('c')?.entry.server, 'https://a:1');
    assert.equal(merged.users.get('u')?.entry.token, 'a');
    // Relative paths stay relative to the file that held the entry.
    assert.equal(merged.clusters.get('d')?.dir, '/b');
  });
});

describe('kubeconfig: which source is loaded', () => {
  const root = mkdtempSync(join(tmpdir(), 'bosun-kc-unit-'));
  const write = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  };
  const explicit = write(join(root, 'explicit'), one({ server: 'https://explicit:1' }, {}));
  const listed = write(join(root, 'listed'), one({ server: 'https://listed:1' }, {}));
  const home = join(root, 'home');
  write(join(home, '.kube', 'config'), one({ server: 'https://home:1' }, {}));
  const sa = join(root, 'sa');
  write(join(sa, 'token'), 'sa-token');
  write(join(sa, 'ca.crt'), 'SA-CA');
  write(join(sa, 'namespace'), 'ops\n');
  const inClusterEnv = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '6443' };
  const emptyHome = join(root, 'empty');

  const cases: [string, Parameters<typeof loadKubeconfig>[0], string][] = [
    ['--kubeconfig first', { path: explicit, env: { KUBECONFIG: listed }, home }, 'https://explicit:1/'],
    [
      '$KUBECONFIG, skipping missing files',
      { env: { KUBECONFIG: [join(root, 'missing'), listed].join(delimiter) }, home },
      'https://listed:1/',
    ],
    ['~/.kube/config', { env: {}, home }, 'https://home:1/'],
    [
      'in-cluster last',
      { env: inClusterEnv, home: emptyHome, serviceAccountDir: sa },
      'https://10.0.0.1:6443/',
    ],
    [
      'in-cluster IPv6 host',
      {
        env: { ...inClusterEnv, KUBERNETES_SERVICE_HOST: 'fd00::1' },
        home: emptyHome,
        serviceAccountDir: sa,
      },
      'https://[fd00::1]:6443/',
    ],
  ];
  for (const [name, opts, expected] of cases)
    it(name, () => assert.equal(loadKubeconfig(opts).server.href, expected));

  it('in-cluster: CA, namespace and the token file', async () => {
    const kc = loadKubeconfig({ env: inClusterEnv, home: emptyHome, serviceAccountDir: sa });
    assert.equal(kc.source, 'in-cluster');
    assert.equal(kc.namespace, 'ops');
    assert.deepEqual(kc.tls, { ca: 'SA-CA', rejectUnauthorized: true });
    assert.equal((await kc.auth.credentials()).authorization, 'Bearer sa-token');
  });

  it('errors say what to do', () => {
    assert.throws(() => loadKubeconfig({ env: {}, home: emptyHome }), /pass --kubeconfig, set KUBECONFIG/);
    assert.throws(
      () => loadKubeconfig({ env: { KUBECONFIG: join(root, 'missing') }, home }),
      /none of these files exists/,
    );
    assert.throws(() => loadKubeconfig({ path: join(root, 'missing') }), /cannot read .*missing: ENOENT/);
  });
});

describe('kubeconfig: credentials over time', () => {
  it('a token file is read again after a minute, and at once after a refusal', async () => {
    let now = 0;
    let token = 'one';
    let reads = 0;
    const source = new TokenFile(
      '/t',
      () => {
        reads++;
        return `${token}\n`;
      },
      () => now,
    );
    const first = await source.credentials();
    assert.equal(first.authorization, 'Bearer one');
    token = 'two';
    now = TOKEN_FILE_TTL_MS - 1;
    assert.equal((await source.credentials()).authorization, 'Bearer one');
    now = TOKEN_FILE_TTL_MS;
    assert.equal((await source.credentials()).authorization, 'Bearer two');
    token = 'three';
    const second = await source.credentials();
    assert.equal(source.invalidate(first), true, 'a retry is worth it');
    assert.equal(
      (await source.credentials()).authorization,
      'Bearer two',
      'a stale refusal keeps newer credentials',
    );
    assert.equal(source.invalidate(second), true);
    assert.equal((await source.credentials()).authorization, 'Bearer three');
    assert.equal(reads, 3);
  });

  it('an exec plugin command with a slash is relative to the kubeconfig, a bare name is looked up in PATH', () => {
    const command = (c: string) =>
      (new ExecPlugin({ apiVersion: V1, command: c }, '/etc/kc', {}) as unknown as { command: string })
        .command;
    assert.equal(command('./bin/plugin.sh'), '/etc/kc/bin/plugin.sh');
    assert.equal(command('/usr/bin/plugin'), '/usr/bin/plugin');
    assert.equal(command('aws'), 'aws');
  });

  it('a failing exec plugin is not run again by every request until EXEC_RETRY_MS passed', async () => {
    let now = 1_000_000;
    const plugin = new ExecPlugin(
      { apiVersion: V1, command: '/nonexistent/bosun-plugin' },
      '/etc/kc',
      {},
      () => now,
    );
    await assert.rejects(plugin.credentials(), /exec plugin "\/nonexistent\/bosun-plugin" not found/);
    await assert.rejects(plugin.credentials(), /not found/);
    assert.equal(plugin.runs, 1, 'the second request got the remembered failure');
    now += EXEC_RETRY_MS;
    await assert.rejects(plugin.credentials(), /not found/);
    assert.equal(plugin.runs, 2);
  });
});

describe('kubeconfig: ExecCredential output', () => {
  const cred = (status: object, apiVersion = V1) =>
    JSON.stringify({ apiVersion, kind: 'ExecCredential', status });
  const ok: [string, string, object, number][] = [
    ['token without expiry', cred({ token: 't' }), { authorization: 'Bearer t' }, Number.POSITIVE_INFINITY],
    [
      'token with expiry',
      cred({ token: 't', expirationTimestamp: '2030-01-01T00:00:00Z' }),
      { authorization: 'Bearer t' },
      Date.parse('2030-01-01T00:00:00Z'),
    ],
    [
      'client certificate',
      cred({ clientCertificateData: 'C', clientKeyData: 'K' }),
      { cert: 'C', key: 'K' },
      Number.POSITIVE_INFINITY,
    ],
  ];
  for (const [name, text, creds, expiresAt] of ok)
    it(name, () => assert.deepEqual(parseExecCredential(text, V1, 'p'), { creds, expiresAt }));

  const bad: [string, string, RegExp][] = [
    ['not JSON', 'oops', /printed no ExecCredential JSON/],
    [
      'other apiVersion',
      cred({ token: 't' }, 'client.authentication.k8s.io/v1beta1'),
      /expected an ExecCredential of/,
    ],
    ['nothing', cred({}), /neither a token nor a client certificate/],
    ['certificate without key', cred({ clientCertificateData: 'C' }), /come together/],
    ['bad time', cred({ token: 't', expirationTimestamp: 'soon' }), /is not a time/],
  ];
  for (const [name, text, message] of bad)
    it(`error: ${name}`, () => assert.throws(() => parseExecCredential(text, V1, 'p'), message));
});
