// The admission webhook's TLS listener (`bosun run --admission-address`): POST /before-rollout
// takes an AdmissionReview of a pod and answers from the operator's caches. Every replica serves
// it, leader or not; a decision that cannot be made is a refusal (failurePolicy Fail semantics),
// which the ReplicaSet controller retries.
import https from 'node:https';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { ServingCert } from '../../runtime/serving-cert.ts';
import { parseAddress } from '../probes.ts';
import { type AdmissionRequest, type Lookups, reviewPod } from './review.ts';

export const WEBHOOK_PATH = '/before-rollout';
const MAX_BODY = 3 * 1024 * 1024;

export interface AdmissionServer {
  server: https.Server;
  /** Serves a new certificate from the next connection on. */
  setCertificate(cert: ServingCert): void;
  stop(): Promise<void>;
}

export async function startAdmissionServer(opts: {
  address: string;
  cert: ServingCert;
  lookups: Lookups;
  log: Logger;
  registry: Registry;
}): Promise<AdmissionServer> {
  const { log, lookups } = opts;
  const reviews = new Counter({
    name: 'bosun_admission_reviews_total',
    help: 'Pod admission reviews answered, by result (gated, allowed, error)',
    labelNames: ['result'],
    registers: [opts.registry],
  });
  const server = https.createServer({ key: opts.cert.keyPem, cert: opts.cert.certPem }, (req, res) => {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url?.split('?')[0] !== WEBHOOK_PATH)
      return reply(404, { error: 'not found' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', async () => {
      let review: { apiVersion?: string; kind?: string; request?: AdmissionRequest };
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(400, { error: 'the body is not JSON' });
      }
      const request = review.request;
      if (!request?.uid) return reply(400, { error: 'an AdmissionReview with a request is expected' });
      const envelope = { apiVersion: review.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview' };
      const pod = `${request.namespace}/${request.object?.metadata.generateName ?? ''}${request.object?.metadata.name ?? ''}`;
      try {
        const { response, result, note } = await reviewPod(request, lookups);
        reviews.inc({ result });
        if (result === 'gated') log.info({ pod, note }, 'gated a new pod');
        else log.debug({ pod, note }, 'admitted a pod ungated');
        reply(200, { ...envelope, response });
      } catch (e) {
        reviews.inc({ result: 'error' });
        const message = `bosun could not decide whether to gate this pod: ${(e as Error).message}`;
        log.warn({ pod, err: e }, 'admission review failed');
        reply(200, {
          ...envelope,
          response: { uid: request.uid, allowed: false, status: { code: 500, message } },
        });
      }
    });
  });
  const { host, port } = parseAddress(opts.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  log.info({ address: opts.address, path: WEBHOOK_PATH }, 'admission webhook listening');
  return {
    server,
    setCertificate: (cert) => server.setSecureContext({ key: cert.keyPem, cert: cert.certPem }),
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
