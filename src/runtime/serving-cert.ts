// The admission webhook's TLS: a self-signed CA and a serving certificate kept in a Secret, so
// that every replica serves the same certificate and the CA bundle written into the webhook
// configuration stays valid across restarts. A Secret issued by cert-manager is used as it is.
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient, type KubeObject } from './kube-client.ts';
import { createCertificate, newKeyPair } from './x509.ts';

export interface ServingCert {
  caPem: string;
  /** What the webhook configuration trusts: the CA, and the one it replaced while still valid. */
  caBundlePem: string;
  certPem: string;
  keyPem: string;
  /** False when cert-manager issues the Secret (its cainjector writes the CA bundle). */
  managed: boolean;
}

const SECRETS = { group: '', version: 'v1', plural: 'secrets', namespaced: true } as const;
const DAY = 86_400_000;
const CA_DAYS = 3650;
const SERVING_DAYS = 365;
/** Reissue this long before expiry. */
const RENEW_BEFORE = 30 * DAY;
const CERT_MANAGER = 'cert-manager.io/certificate-name';
const CA_NAME = 'bosun-webhook-ca';
/** The CA a re-issue replaced: other replicas serve certificates it signed until they reload. */
const PREVIOUS_CA = 'ca-previous.crt';

const decode = (s: KubeObject, key: string) =>
  s.data?.[key] ? Buffer.from(s.data[key] as string, 'base64').toString('utf8') : undefined;

export type CertAction = 'keep' | 'issue' | 'renew';

/**
 * What the Secret needs: `issue` a new CA and certificate (none, or the CA expires soon), `renew`
 * the serving certificate with the same CA (it expires soon or lacks a host), or `keep`.
 */
export function certAction(secret: KubeObject | undefined, hosts: string[], now: Date): CertAction {
  if (!secret) return 'issue';
  if (secret.metadata.annotations?.[CERT_MANAGER]) return 'keep';
  const ca = decode(secret, 'ca.crt');
  const caKey = decode(secret, 'ca.key');
  const cert = decode(secret, 'tls.crt');
  if (!ca || !caKey || !cert || !decode(secret, 'tls.key')) return 'issue';
  const soon = (c: X509Certificate) => Date.parse(c.validTo) - now.getTime() < RENEW_BEFORE;
  let caCert: X509Certificate;
  let serving: X509Certificate;
  try {
    caCert = new X509Certificate(ca);
    serving = new X509Certificate(cert);
  } catch {
    return 'issue';
  }
  // Every CA has the same name: only its key tells whether it signed the certificate.
  if (soon(caCert) || !keyMatches(caKey, caCert)) return 'issue';
  const covers = (h: string) => (/^[\d.:]+$/.test(h) ? serving.checkIP(h) : serving.checkHost(h));
  const signed = serving.checkIssued(caCert) && serving.verify(caCert.publicKey);
  const keyed = keyMatches(decode(secret, 'tls.key') as string, serving);
  if (soon(serving) || !signed || !keyed || !hosts.every((h) => covers(h))) return 'renew';
  return 'keep';
}

/** Whether the PEM private key belongs to the certificate. */
function keyMatches(keyPem: string, cert: X509Certificate): boolean {
  const der = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  try {
    return der(createPublicKey(createPrivateKey(keyPem))).equals(der(cert.publicKey));
  } catch {
    return false;
  }
}

/** The CA, and the previous one while it is valid. */
export function caBundle(secret: KubeObject, now: Date): string {
  const ca = decode(secret, 'ca.crt') ?? '';
  const previous = decode(secret, PREVIOUS_CA);
  if (!previous) return ca;
  try {
    if (Date.parse(new X509Certificate(previous).validTo) <= now.getTime()) return ca;
  } catch {
    return ca;
  }
  return `${ca.trimEnd()}\n${previous}`;
}

function issue(hosts: string[], now: Date, ca?: { pem: string; keyPem: string }) {
  const notBefore = new Date(now.getTime() - 5 * 60_000); // clock skew
  let caPem = ca?.pem;
  let caKey = ca ? createPrivateKey(ca.keyPem) : undefined;
  let caKeyPem = ca?.keyPem;
  if (!caPem || !caKey) {
    const pair = newKeyPair();
    caKey = pair.privateKey;
    caKeyPem = pair.keyPem;
    caPem = createCertificate({
      commonName: CA_NAME,
      isCA: true,
      notBefore,
      notAfter: new Date(now.getTime() + CA_DAYS * DAY),
      publicKey: pair.publicKey,
      privateKey: pair.privateKey,
    });
  }
  const pair = newKeyPair();
  const certPem = createCertificate({
    commonName: hosts[0] ?? 'bosun-webhook',
    hosts,
    isCA: false,
    notBefore,
    notAfter: new Date(now.getTime() + SERVING_DAYS * DAY),
    publicKey: pair.publicKey,
    privateKey: pair.privateKey,
    issuer: { commonName: CA_NAME, privateKey: caKey },
  });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    'ca.crt': b64(caPem),
    'ca.key': b64(caKeyPem as string),
    'tls.crt': b64(certPem),
    'tls.key': b64(pair.keyPem),
  };
}

/** Reads the Secret, issuing or renewing what it lacks; replicas racing agree through the API server. */
export async function ensureServingCert(
  client: KubeClient,
  log: Logger,
  ref: { namespace: string; name: string },
  hosts: string[],
): Promise<ServingCert> {
  for (let attempt = 0; ; attempt++) {
    let secret: KubeObject | undefined;
    try {
      secret = await client.get(SECRETS, ref.namespace, ref.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const action = certAction(secret, hosts, new Date());
    if (action === 'keep' && secret) {
      const managed = !secret.metadata.annotations?.[CERT_MANAGER];
      const get = (k: string) => decode(secret, k) ?? '';
      const caBundlePem = managed ? caBundle(secret, new Date()) : get('ca.crt');
      return { caPem: get('ca.crt'), caBundlePem, certPem: get('tls.crt'), keyPem: get('tls.key'), managed };
    }
    const ca =
      action === 'renew' && secret
        ? { pem: decode(secret, 'ca.crt') as string, keyPem: decode(secret, 'ca.key') as string }
        : undefined;
    const data: Record<string, string> = issue(hosts, new Date(), ca);
    // A new CA: keep trusting the one it replaces, for the replicas that still serve its certificates.
    const replaced = action === 'issue' ? secret?.data?.['ca.crt'] : secret?.data?.[PREVIOUS_CA];
    if (replaced) data[PREVIOUS_CA] = replaced;
    try {
      if (!secret)
        await client.create(SECRETS, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: ref.name,
            namespace: ref.namespace,
            labels: { 'app.kubernetes.io/name': 'bosun' },
          },
          type: 'kubernetes.io/tls',
          data,
        });
      else
        await client.mergePatch(SECRETS, ref.namespace, ref.name, {
          metadata: { resourceVersion: secret.metadata.resourceVersion },
          data,
        });
      log.info(
        { secret: `${ref.namespace}/${ref.name}`, action, hosts },
        'webhook serving certificate written',
      );
    } catch (e) {
      // Another replica wrote it first: use theirs.
      if (!(isAlreadyExists(e) || isConflict(e)) || attempt >= 5) throw e;
    }
  }
}
