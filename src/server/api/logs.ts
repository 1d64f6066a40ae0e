// GET .../previews/{name}/logs: the log of a step's newest pod, streamed as text.
import type { FastifyInstance } from 'fastify';
import { PREVIEW_LABEL, ROLE_LABEL } from '../../controllers/preview/labels.ts';
import { ApiError, type KubeObject, Resources } from '../../runtime/kube-client.ts';
import type { HttpContext } from '../context.ts';
import { badRequest, HttpError, notFound } from './errors.ts';
import { cachesSynced, readAccess } from './guards.ts';
import { openPodLog } from './pod-log.ts';
import { target, viewOf } from './previews.ts';

const STEPS = ['build', 'init', 'app', 'cleanup'] as const;

export interface LogQuery {
  step: (typeof STEPS)[number];
  follow: boolean;
  container?: string;
}

export function parseLogQuery(raw: Record<string, unknown>): LogQuery {
  const known = ['step', 'follow', 'container'];
  const unknown = Object.keys(raw).filter((k) => !known.includes(k));
  if (unknown.length)
    throw badRequest(`unknown query parameter "${unknown[0]}"; accepted: ${known.join(', ')}`);
  for (const k of known)
    if (raw[k] !== undefined && typeof raw[k] !== 'string')
      throw badRequest(`query parameter "${k}" must be given once`);
  const step = (raw.step ?? 'app') as LogQuery['step'];
  if (!STEPS.includes(step)) throw badRequest(`step must be one of ${STEPS.join(', ')}, got "${step}"`);
  const follow = (raw.follow ?? 'false') as string;
  if (follow !== 'true' && follow !== 'false')
    throw badRequest(`follow must be true or false, got "${follow}"`);
  const container = raw.container as string | undefined;
  if (container !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(container))
    throw badRequest(`"${container}" is not a container name`);
  return { step, follow: follow === 'true', ...(container ? { container } : {}) };
}

export async function registerLogRoutes(app: FastifyInstance, ctx: HttpContext): Promise<void> {
  app.get<{ Params: { namespace: string; name: string } }>(
    '/api/v1/namespaces/:namespace/previews/:name/logs',
    async (request, reply) => {
      const readable = await readAccess(ctx, request);
      const { namespace, name } = target(ctx, request);
      const q = parseLogQuery(request.query as Record<string, unknown>);
      await cachesSynced(ctx);
      const p = ctx.previews.get(namespace, name);
      if (!p || !(await readable(viewOf(ctx, p).forgeRepository)))
        throw notFound('NotFound', `preview ${namespace}/${name} does not exist`);
      const pods = await ctx.client.list(Resources.pods, namespace, {
        labelSelector: `${PREVIEW_LABEL}=${name},${ROLE_LABEL}=${q.step}`,
      });
      const pod = newest(pods.items);
      if (!pod)
        throw notFound('NoPod', `preview ${namespace}/${name} has no ${q.step} pod (yet, or any more)`);
      const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
      const container = q.container ?? containers[0] ?? '';
      if (!containers.includes(container))
        throw badRequest(
          `pod ${pod.metadata.name} has no container "${container}" (it has ${containers.join(', ')})`,
        );

      const abort = new AbortController();
      const closed = () => abort.abort();
      // The response's close (not the request's, which ends once its empty body is read): the client left.
      reply.raw.on('close', closed);
      let stream: NodeJS.ReadableStream;
      try {
        stream = await openPodLog(ctx.client, {
          namespace,
          pod: pod.metadata.name as string,
          container,
          follow: q.follow,
          signal: abort.signal,
        });
      } catch (e) {
        reply.raw.off('close', closed);
        if (abort.signal.aborted) return reply.hijack(); // the client left while we waited
        if (e instanceof ApiError && e.code >= 400 && e.code < 500)
          throw new HttpError(409, 'LogNotAvailable', `pod ${pod.metadata.name}: ${e.message}`);
        throw e;
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'x-bosun-pod': String(pod.metadata.name),
      });
      stream.on('data', (c: Buffer) => res.write(c));
      stream.on('end', () => res.end());
      stream.on('error', (e: Error) => {
        if (!abort.signal.aborted) request.log.warn({ err: e.message, namespace, name }, 'log stream failed');
        res.end();
      });
    },
  );
}

function newest(pods: KubeObject[]): KubeObject | undefined {
  return [...pods].sort((a, b) =>
    String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
  )[0];
}
