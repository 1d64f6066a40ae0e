// The local cluster's PKI: one CA and one admin certificate (O=system:masters) that also serves
// the API server's TLS; its key doubles as the service-account signing key. Node cannot create
// X.509 certificates with its built-in modules, so this uses openssl.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export function pkiPaths(dir: string): Pki {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    cert: join(dir, 'admin.crt'),
    key: join(dir, 'admin.key'),
  };
}

export function createPki(dir: string): Pki {
  const p = pkiPaths(dir);
  if (existsSync(p.cert)) return p;
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ext = join(dir, 'admin.ext');
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.0.0.1',
      '',
    ].join('\n'),
  );
  try {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=bosun-dev-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      p.caKey,
      '-out',
      p.caCert,
    );
    const csr = join(dir, 'admin.csr');
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/O=system:masters/CN=bosun-dev-admin',
      '-keyout',
      p.key,
      '-out',
      csr,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      p.caCert,
      '-CAkey',
      p.caKey,
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      ext,
      '-out',
      p.cert,
    );
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT')
      throw new Error('openssl is not installed; install it (apt-get install openssl) and retry');
    throw new Error(`openssl failed: ${err.stderr?.toString() ?? e}`);
  }
  return p;
}
