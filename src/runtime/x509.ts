// Just enough X.509 to make a CA and a serving certificate signed by it (ECDSA P-256, SHA-256):
// Node can sign but not build certificates, and the operator's image has no openssl. DER per
// RFC 5280; the result is checked with node's X509Certificate in the unit tests and by the
// kube-apiserver (Go's crypto/x509) in the integration tests.
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  const n = body.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);

function integer(b: Buffer): Buffer {
  let v = b;
  while (v.length > 1 && v[0] === 0 && (v[1] as number) < 0x80) v = v.subarray(1);
  return tlv(0x02, (v[0] as number) >= 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const s = d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

export interface CertificateRequest {
  commonName: string;
  /** DNS names and IP addresses (subjectAltName); none for a CA. */
  hosts?: string[];
  isCA: boolean;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** The issuer's name and key; a self-signed certificate when absent. */
  issuer?: { commonName: string; privateKey: KeyObject };
  privateKey: KeyObject;
}

/** A DER-encoded, signed certificate, as PEM. */
export function createCertificate(r: CertificateRequest): string {
  const signer = r.issuer ?? { commonName: r.commonName, privateKey: r.privateKey };
  const keyUsage = r.isCA
    ? bits(Buffer.from([0x06]), 1) // keyCertSign, cRLSign
    : bits(Buffer.from([0x80]), 7); // digitalSignature (ECDHE key exchange)
  const extensions = [
    extension('2.5.29.19', true, r.isCA ? seq(bool(true)) : seq()),
    extension('2.5.29.15', true, keyUsage),
    ...(r.isCA ? [] : [extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1')))]),
    ...(r.hosts?.length
      ? [
          extension(
            '2.5.29.17',
            false,
            seq(...r.hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h))))),
          ),
        ]
      : []),
  ];
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f || 1; // positive and not zero
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ECDSA_SHA256,
    name(signer.commonName),
    seq(time(r.notBefore), time(r.notAfter)),
    name(r.commonName),
    r.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: signer.privateKey, dsaEncoding: 'der' });
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
}

export function newKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    publicKey: createPublicKey(privateKey),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
