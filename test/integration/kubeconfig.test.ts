// Every way of reaching the API server that users rely on, against the real kube-apiserver: the
// client-certificate kubeconfig `bosun dev` writes (files, inline data, relative paths), bearer
// tokens from the TokenRequest API (inline, a token file that rotates), exec credential plugins,
// and the in-cluster service account.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { pkiPaths } from '../../src/dev/pki.ts';
import { ApiError, KubeClient, Resources } from '../../src/runtime/kube-client.ts';
import type { ExecPlugin } from '../../src/runtime/kubeconfig-auth.ts';
import { serviceAccountToken, testClient, testCluster, testNamespace } from '../support/cluster.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'bosun-kubeconfig-'));

async function whoAmI(client: KubeClient): Promise<{ username: string; groups: string[] }> {
  const review = await client.request<{ status: { userInfo: { username: string; groups: string[] } } }>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
  );
  return review.status.userInfo;
}

/** A kubeconfig file with one cluster, one user and one context. */
function writeKubeconfig(dir: string, cluster: object, user: object, namespace?: string): string {
  const path = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', ...(namespace ? { namespace } : {}) } }],
      'current-context': 'ctx',
    }),
  );
  return path;
}

/** Deleting the ServiceAccount revokes its tokens: the API server answers them with 401. */
async function revoke(namespace: string, name: string, stale: KubeClient) {
  const admin = await testClient();
  await admin.delete(Resources.serviceAccounts, namespace, name);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const err = await whoAmI(stale).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err instanceof ApiError && err.code === 401) return;
    if (Date.now() > deadline) throw new Error(`the token of ${name} still works after its deletion`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function clusterEntry() {
  const { server, dir } = await testCluster();
  return { server, pki: pkiPaths(join(dir, 'pki')) };
}

describe('kubeconfig: client certificates', () => {
  it('reads the kubeconfig bosun dev writes (certificate files)', async () => {
    const { kubeconfig } = await testCluster();
    const who = await whoAmI(KubeClient.fromKubeconfig(kubeconfig));
    assert.ok(who.groups.includes('system:masters'), `admin certificate: ${JSON.stringify(who)}`);
  });

  it('reads inline -data fields and paths relative to the kubeconfig', async () => {
    const { server, pki } = await clusterEntry();
    const b64 = (p: string) => readFileSync(p).toString('base64');
    const inline = writeKubeconfig(
      tempDir(),
      { server, 'certificate-authority-data': b64(pki.caCert) },
      { 'client-certificate-data': b64(pki.cert), 'client-key-data': b64(pki.key) },
    );
    assert.ok((await whoAmI(KubeClient.fromKubeconfig(inline))).groups.includes('system:masters'));

    const dir = tempDir();
    for (const [from, to] of [
      [pki.caCert, 'ca.crt'],
      [pki.cert, 'admin.crt'],
      [pki.key, 'admin.key'],
    ] as const)
      copyFileSync(from, join(dir, to));
    const relative = writeKubeconfig(
      dir,
      { server, 'certificate-authority': 'ca.crt' },
      { 'client-certificate': 'admin.crt', 'client-key': 'admin.key' },
    );
    assert.ok((await whoAmI(KubeClient.fromKubeconfig(relative))).groups.includes('system:masters'));
  });

  it('refuses a server whose certificate it cannot verify, unless told to skip verification', async () => {
    const { server, pki } = await clusterEntry();
    const user = { 'client-certificate': pki.cert, 'client-key': pki.key };
    const unverified = KubeClient.fromKubeconfig(writeKubeconfig(tempDir(), { server }, user));
    await assert.rejects(whoAmI(unverified), /certificate/);
    const skipping = KubeClient.fromKubeconfig(
      writeKubeconfig(tempDir(), { server, 'insecure-skip-tls-verify': true }, user),
    );
    assert.ok((await whoAmI(skipping)).groups.includes('system:masters'));
  });
});

describe('kubeconfig: proxy-url', () => {
  it('tunnels requests and watches through an http proxy (CONNECT)', async (t) => {
    const tunnels: string[] = [];
    const proxy = http.createServer();
    proxy.on('connect', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(/:(?=\d+$)/);
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    t.after(() => proxy.close());
    proxy.unref();
    const { server, pki } = await clusterEntry();
    const { port } = proxy.address() as net.AddressInfo;
    const client = KubeClient.fromKubeconfig(
      writeKubeconfig(
        tempDir(),
        { server, 'certificate-authority': pki.caCert, 'proxy-url': `http://127.0.0.1:${port}` },
        { 'client-certificate': pki.cert, 'client-key': pki.key },
      ),
    );
    assert.ok((await whoAmI(client)).groups.includes('system:masters'));
    const stop = new AbortController();
    await client.watch(
      '/api/v1/namespaces',
      { limit: 1, timeoutSeconds: 1 },
      () => stop.abort(),
      stop.signal,
    );
    const target = new URL(server);
    assert.ok(tunnels.length >= 2, `tunnels: ${tunnels.join(', ')}`);
    for (const to of tunnels) assert.equal(to, `${target.hostname}:${target.port}`);
  });
});

describe('kubeconfig: bearer tokens', () => {
  it('authenticates with a ServiceAccount token and reads the context namespace', async (t) => {
    const ns = await testNamespace(t, 'kc-token');
    const { server, pki } = await clusterEntry();
    const token = await serviceAccountToken(ns, 'reader');
    const client = KubeClient.fromKubeconfig(
      writeKubeconfig(tempDir(), { server, 'certificate-authority': pki.caCert }, { token }, ns),
    );
    assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:reader`);
    assert.equal(client.namespace, ns);
  });

  it('reads a token file again when the server refuses the token it holds (rotation)', async (t) => {
    const ns = await testNamespace(t, 'kc-tokenfile');
    const { server, pki } = await clusterEntry();
    const cluster = { server, 'certificate-authority': pki.caCert };
    const dir = tempDir();
    const first = await serviceAccountToken(ns, 'first');
    writeFileSync(join(dir, 'token'), first);
    const client = KubeClient.fromKubeconfig(writeKubeconfig(dir, cluster, { tokenFile: 'token' }));
    assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:first`);

    writeFileSync(join(dir, 'token'), await serviceAccountToken(ns, 'second'));
    await revoke(
      ns,
      'first',
      KubeClient.fromKubeconfig(writeKubeconfig(tempDir(), cluster, { token: first })),
    );
    // The cached first token is refused; the client reads the file again and retries once.
    assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:second`);
  });
});

/** An exec plugin: a script that counts its runs and prints an ExecCredential with the token in `token`. */
function execPlugin(dir: string, apiVersion: string, expiration: string) {
  const script = join(dir, 'plugin.sh');
  writeFileSync(
    script,
    `#!/bin/sh
echo run >> "${dir}/runs"
printf '%s' "$KUBERNETES_EXEC_INFO" > "${dir}/exec-info"
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' \
  "${apiVersion}" "$(cat "${dir}/token")" "${expiration}"
`,
  );
  chmodSync(script, 0o755);
  const runs = () => readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;
  return { runs, execInfo: () => JSON.parse(readFileSync(join(dir, 'exec-info'), 'utf8')) };
}

describe('kubeconfig: exec credential plugins', () => {
  for (const apiVersion of ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'])
    it(`runs a ${apiVersion.split('/')[1]} plugin once, keeps its token until expiry, runs it again on 401`, async (t) => {
      const ns = await testNamespace(t, 'kc-exec');
      const { server, pki } = await clusterEntry();
      const cluster = { server, 'certificate-authority': pki.caCert };
      const dir = tempDir();
      const first = await serviceAccountToken(ns, 'first');
      writeFileSync(join(dir, 'token'), first);
      const plugin = execPlugin(dir, apiVersion, new Date(Date.now() + 3600_000).toISOString());
      const exec = { apiVersion, command: './plugin.sh', interactiveMode: 'Never', provideClusterInfo: true };
      const client = KubeClient.fromKubeconfig(writeKubeconfig(dir, cluster, { exec }));
      await Promise.all([whoAmI(client), whoAmI(client), whoAmI(client)]);
      assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:first`);
      assert.equal(plugin.runs(), 1, 'one run serves concurrent and later requests until expiry');
      const info = plugin.execInfo();
      assert.equal(info.apiVersion, apiVersion);
      assert.equal(info.spec.interactive, false);
      assert.equal(info.spec.cluster.server, new URL(server).href);

      writeFileSync(join(dir, 'token'), await serviceAccountToken(ns, 'second'));
      await revoke(
        ns,
        'first',
        KubeClient.fromKubeconfig(writeKubeconfig(tempDir(), cluster, { token: first })),
      );
      assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:second`);
      assert.equal(plugin.runs(), 2, 'the refused credential made the plugin run again');
    });

  it('runs the plugin again once its credential expired', async (t) => {
    const ns = await testNamespace(t, 'kc-exec-exp');
    const { server, pki } = await clusterEntry();
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), await serviceAccountToken(ns, 'sa'));
    const apiVersion = 'client.authentication.k8s.io/v1';
    const plugin = execPlugin(dir, apiVersion, new Date(Date.now() - 1000).toISOString());
    const client = KubeClient.fromKubeconfig(
      writeKubeconfig(
        dir,
        { server, 'certificate-authority': pki.caCert },
        { exec: { apiVersion, command: join(dir, 'plugin.sh') } },
      ),
    );
    await whoAmI(client);
    await whoAmI(client);
    assert.equal(plugin.runs(), 2);
  });

  it('authenticates with a client certificate the plugin returns', async () => {
    const { server, pki } = await clusterEntry();
    const dir = tempDir();
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: {
        clientCertificateData: readFileSync(pki.cert, 'utf8'),
        clientKeyData: readFileSync(pki.key, 'utf8'),
      },
    };
    writeFileSync(join(dir, 'credential.json'), JSON.stringify(credential));
    const exec = { apiVersion: credential.apiVersion, command: 'cat', args: [join(dir, 'credential.json')] };
    const client = KubeClient.fromKubeconfig(
      writeKubeconfig(dir, { server, 'certificate-authority': pki.caCert }, { exec }),
    );
    assert.ok((await whoAmI(client)).groups.includes('system:masters'));
    assert.equal((client.config.auth as ExecPlugin).runs, 1);
  });

  it('says how to install a plugin that is missing', async () => {
    const { server, pki } = await clusterEntry();
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'bosun-no-such-plugin',
      installHint: 'install it from example.com',
    };
    const client = KubeClient.fromKubeconfig(
      writeKubeconfig(tempDir(), { server, 'certificate-authority': pki.caCert }, { exec }),
    );
    await assert.rejects(whoAmI(client), /bosun-no-such-plugin" not found\ninstall it from example.com/);
  });
});

describe('kubeconfig: in-cluster service account', () => {
  it('uses KUBERNETES_SERVICE_HOST/PORT, the token, ca.crt and namespace files, and re-reads a rotated token', async (t: TestContext) => {
    const ns = await testNamespace(t, 'kc-incluster');
    const { server, pki } = await clusterEntry();
    const url = new URL(server);
    const saDir = tempDir();
    copyFileSync(pki.caCert, join(saDir, 'ca.crt'));
    writeFileSync(join(saDir, 'namespace'), ns);
    const first = await serviceAccountToken(ns, 'pod-first');
    writeFileSync(join(saDir, 'token'), first);
    const client = KubeClient.fromKubeconfig(undefined, {
      env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
      home: tempDir(), // no ~/.kube/config there
      serviceAccountDir: saDir,
    });
    assert.equal(client.config.source, 'in-cluster');
    assert.equal(client.namespace, ns);
    assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:pod-first`);

    writeFileSync(join(saDir, 'token'), await serviceAccountToken(ns, 'pod-second'));
    const cluster = { server, 'certificate-authority': pki.caCert };
    await revoke(
      ns,
      'pod-first',
      KubeClient.fromKubeconfig(writeKubeconfig(tempDir(), cluster, { token: first })),
    );
    assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:pod-second`);
  });
});
