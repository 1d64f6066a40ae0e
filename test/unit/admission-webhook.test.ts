// The admission webhook's pieces that need no cluster: certificates, the configuration, the flags.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseAdmissionFlags } from '../../src/cli/admission-flags.ts';
import type { HookObject } from '../../src/controllers/deploymenthook/plan.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { caBundle, certAction } from '../../src/runtime/serving-cert.ts';
import { createCertificate, newKeyPair } from '../../src/runtime/x509.ts';
import { certificateHosts } from '../../src/server/admission/index.ts';
import { gatedNamespaces, holds, webhookConfiguration } from '../../src/server/admission/webhook-config.ts';

const DAY = 86_400_000;
const now = new Date('2026-11-23T12:00:00Z');

function pair(hosts: string[], caDays = 3650, certDays = 365) {
  const ca = newKeyPair();
  const caPem = createCertificate({
    commonName: 'ca',
    isCA: true,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + caDays * DAY),
    publicKey: ca.publicKey,
    privateKey: ca.privateKey,
  });
  const key = newKeyPair();
  const certPem = createCertificate({
    commonName: hosts[0] ?? 'x',
    hosts,
    isCA: false,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + certDays * DAY),
    publicKey: key.publicKey,
    privateKey: key.privateKey,
    issuer: { commonName: 'ca', privateKey: ca.privateKey },
  });
  return { caPem, caKeyPem: ca.keyPem, certPem, keyPem: key.keyPem };
}

const secret = (p: ReturnType<typeof pair>, annotations?: Record<string, string>): KubeObject => {
  const b = (s: string) => Buffer.from(s).toString('base64');
  return {
    metadata: { name: 's', ...(annotations ? { annotations } : {}) },
    data: { 'ca.crt': b(p.caPem), 'ca.key': b(p.caKeyPem), 'tls.crt': b(p.certPem), 'tls.key': b(p.keyPem) },
  };
};

describe('x509: a CA and a serving certificate', () => {
  it('node (OpenSSL) accepts them: issued by the CA, signature valid, names covered', () => {
    const p = pair(['bosun.bosun-system.svc', '127.0.0.1', '::1']);
    const ca = new X509Certificate(p.caPem);
    const cert = new X509Certificate(p.certPem);
    assert.equal(ca.ca, true);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(ca));
    assert.ok(cert.verify(ca.publicKey));
    assert.equal(cert.checkHost('bosun.bosun-system.svc'), 'bosun.bosun-system.svc');
    assert.equal(cert.checkHost('other.svc'), undefined);
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkIP('::1'), '::1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });
});

describe('certAction: what the Secret needs', () => {
  const hosts = ['127.0.0.1'];
  const cases: [string, KubeObject | undefined, string[], string][] = [
    ['no Secret', undefined, hosts, 'issue'],
    ['a Secret without keys', { metadata: { name: 's' }, data: {} }, hosts, 'issue'],
    ['valid and covering', secret(pair(hosts)), hosts, 'keep'],
    ['a missing host', secret(pair(hosts)), ['127.0.0.1', 'bosun.ns.svc'], 'renew'],
    ['the serving certificate expires within 30 days', secret(pair(hosts, 3650, 10)), hosts, 'renew'],
    ['the CA expires within 30 days', secret(pair(hosts, 10, 5)), hosts, 'issue'],
    [
      'cert-manager’s Secret is used as it is',
      secret(pair(['x']), { 'cert-manager.io/certificate-name': 'c' }),
      hosts,
      'keep',
    ],
  ];
  const a = pair(hosts);
  const b = pair(hosts); // another CA of the same name
  const mixed = (over: Partial<typeof a>) => secret({ ...a, ...over });
  cases.push(
    [
      'a serving certificate another CA (of the same name) signed',
      mixed({ certPem: b.certPem }),
      hosts,
      'renew',
    ],
    ['tls.key is not the serving certificate’s key', mixed({ keyPem: b.keyPem }), hosts, 'renew'],
    ['ca.key is not the CA’s key', mixed({ caKeyPem: b.caKeyPem }), hosts, 'issue'],
  );
  for (const [name, s, h, want] of cases) it(name, () => assert.equal(certAction(s, h, now), want));
});

describe('caBundle: the CAs the webhook configuration trusts', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const current = pair(['x']).caPem;
  const withPrevious = (previous: string): KubeObject => ({
    metadata: { name: 's' },
    data: { 'ca.crt': b64(current), 'ca-previous.crt': b64(previous) },
  });
  const count = (pem: string) => pem.match(/BEGIN CERTIFICATE/g)?.length ?? 0;
  it('the CA alone when none was replaced', () => {
    assert.equal(caBundle({ metadata: { name: 's' }, data: { 'ca.crt': b64(current) } }, now), current);
  });
  it('after a re-issue, the replaced CA too: replicas still serve certificates it signed', () => {
    const bundle = caBundle(withPrevious(pair(['x']).caPem), now);
    assert.equal(count(bundle), 2);
    assert.ok(bundle.startsWith(current.trimEnd()));
  });
  it('not the replaced CA once it expired', () => {
    const expired = caBundle(withPrevious(pair(['x'], 1).caPem), new Date(now.getTime() + 2 * DAY));
    assert.equal(count(expired), 1);
  });
});

const hook = (ns: string, when?: string, deleting = false): HookObject => ({
  metadata: { name: 'h', namespace: ns, ...(deleting ? { deletionTimestamp: '2026-11-23T00:00:00Z' } : {}) },
  spec: {
    selector: { matchLabels: { a: 'b' } },
    template: { name: 't' },
    ...(when ? { when: when as 'BeforeRollout' } : {}),
  },
});

type Webhook = {
  namespaceSelector: { matchExpressions: { values?: string[] }[] };
  clientConfig: { url?: string };
  failurePolicy: string;
  rules: { operations: string[] }[];
};

describe('the webhook configuration', () => {
  it('covers the namespaces with a BeforeRollout hook, never kube-system or the operator’s', () => {
    const hooks = [
      hook('b', 'BeforeRollout'),
      hook('a', 'BeforeRollout'),
      hook('a', 'BeforeRollout'),
      hook('c'),
      hook('d', 'BeforeRollout', true),
      hook('kube-system', 'BeforeRollout'),
      hook('bosun-system', 'BeforeRollout'),
    ];
    assert.deepEqual(gatedNamespaces(hooks, ['kube-system', 'bosun-system']), ['a', 'b']);
  });

  it('an empty scope selects no namespace; a URL gets the webhook path; a Service gets port 443', () => {
    const none = webhookConfiguration({
      name: 'w',
      clientConfig: { url: 'https://127.0.0.1:9443' },
      namespaces: [],
    });
    const [wh] = none.webhooks as Webhook[];
    assert.deepEqual(wh?.namespaceSelector, {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'DoesNotExist' }],
    });
    assert.equal(wh?.clientConfig.url, 'https://127.0.0.1:9443/before-rollout');
    assert.equal(wh?.failurePolicy, 'Fail');
    assert.deepEqual(wh?.rules[0]?.operations, ['CREATE']);
    const some = webhookConfiguration({
      name: 'w',
      clientConfig: { service: { namespace: 'bosun-system', name: 'bosun-webhook' } },
      caBundle: 'Q0E=',
      namespaces: ['a'],
    });
    const [s] = some.webhooks as Webhook[];
    assert.deepEqual(s?.clientConfig, {
      service: { port: 443, namespace: 'bosun-system', name: 'bosun-webhook', path: '/before-rollout' },
      caBundle: 'Q0E=',
    });
    assert.deepEqual(s?.namespaceSelector.matchExpressions[0]?.values, ['a']);
  });

  it('holds: the live configuration with server defaults still holds what Bosun wants', () => {
    const want = webhookConfiguration({ name: 'w', clientConfig: { url: 'https://h:1' }, namespaces: ['a'] });
    const live = structuredClone(want) as unknown as { webhooks: Record<string, unknown>[] };
    Object.assign(live.webhooks[0] as object, { matchPolicy: 'Equivalent' });
    assert.ok(holds(live.webhooks, want.webhooks));
    const other = webhookConfiguration({
      name: 'w',
      clientConfig: { url: 'https://h:1' },
      namespaces: ['a', 'b'],
    });
    assert.ok(!holds(live.webhooks, other.webhooks));
    assert.ok(!holds(undefined, want.webhooks));
  });

  it('the certificate covers what the API server dials', () => {
    assert.deepEqual(certificateHosts({ url: 'https://127.0.0.1:9443/x' }), ['127.0.0.1']);
    assert.deepEqual(certificateHosts({ url: 'https://[::1]:9443' }), ['::1']);
    assert.deepEqual(certificateHosts({ service: { namespace: 'n', name: 's' } }), [
      's.n.svc',
      's.n.svc.cluster.local',
    ]);
  });
});

describe('bosun run --admission-* flags', () => {
  it('off without an address; exactly one of URL and Service; NS/NAME references', () => {
    assert.equal(parseAdmissionFlags({}, {}), undefined);
    assert.throws(() => parseAdmissionFlags({ 'admission-address': ':9443' }, {}), /exactly one of/);
    assert.throws(
      () => parseAdmissionFlags({ 'admission-address': ':9443', 'admission-url': 'http://x' }, {}),
      /https/,
    );
    assert.throws(
      () => parseAdmissionFlags({ 'admission-address': ':9443', 'admission-service': 'nope' }, {}),
      /NAMESPACE\/NAME/,
    );
    assert.deepEqual(
      parseAdmissionFlags(
        { 'admission-address': ':9443', 'admission-service': 'ns/svc' },
        { POD_NAMESPACE: 'ns' },
      ),
      {
        address: ':9443',
        clientConfig: { service: { namespace: 'ns', name: 'svc' } },
        secret: { namespace: 'ns', name: 'bosun-webhook-tls' },
        webhookName: 'bosun-before-rollout',
      },
    );
  });
});
