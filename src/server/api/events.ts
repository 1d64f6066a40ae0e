// GET /api/v1/events: server-sent events of previews, and a hint when a repository's pull requests
// from forks waiting for approval change (the client reads GET /api/v1/approvals again). One
// handler per informer fans changes out to the open streams; a stream unsubscribes when its client
// goes.
import type { FastifyInstance } from 'fastify';
import type { PreviewObject, RepositoryObject } from '../../controllers/preview/model.ts';
import type { CacheEvent } from '../../runtime/watch-cache.ts';
import type { HttpContext } from '../context.ts';
import { cachesSynced, checkNamespace, readAccess } from './guards.ts';
import { viewOf } from './previews.ts';
import { compareViews, type Filters, matches, parseEventsQuery } from './query.ts';

interface Subscriber {
  preview(event: CacheEvent<PreviewObject>): void;
  /** A repository whose status.forkPullRequests changed. */
  forks(repository: RepositoryObject): void;
}

const forkList = (r: RepositoryObject | undefined) => JSON.stringify(r?.status?.forkPullRequests ?? []);
const forksChanged = (e: CacheEvent<RepositoryObject>) =>
  e.type === 'updated' ? forkList(e.object) !== forkList(e.old) : forkList(e.object) !== '[]';

export interface EventsOptions {
  heartbeatMs?: number;
}

const streams = new WeakMap<HttpContext, Set<Subscriber>>();
/** Open event streams of a server's context (for tests and diagnostics). */
export const openEventStreams = (ctx: HttpContext) => streams.get(ctx)?.size ?? 0;

export const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export async function registerEventRoutes(app: FastifyInstance, ctx: HttpContext, opts: EventsOptions = {}) {
  const subscribers = new Set<Subscriber>();
  streams.set(ctx, subscribers);
  ctx.previews.onEvent((e) => {
    for (const s of subscribers) s.preview(e);
  });
  ctx.repositories.onEvent((e) => {
    if (forksChanged(e)) for (const s of subscribers) s.forks(e.object);
  });
  const heartbeatMs = opts.heartbeatMs ?? 15_000;

  app.get('/api/v1/events', async (request, reply) => {
    const readable = await readAccess(ctx, request);
    const filters: Filters = parseEventsQuery(request.query as Record<string, unknown>);
    if (filters.namespace) checkNamespace(ctx, filters.namespace);
    await cachesSynced(ctx);
    // The repositories the caller may read (everything, for a caller with the read scope): asked
    // as the stream opens, and a repository served later when its first preview shows.
    const all = await readable(null);
    const forges = all ? [] : [...new Set(ctx.repositories.list().map((r) => r.spec.repository))];
    const asked = new Set(forges);
    const allowed = new Set(
      (await Promise.all(forges.map(async (f) => ((await readable(f)) ? f : undefined)))).filter(Boolean),
    );
    const wanted = (p: PreviewObject) => {
      const view = viewOf(ctx, p);
      return (all || allowed.has(view.forgeRepository ?? undefined)) && matches(view, filters);
    };
    /** `owner/name` of the preview's repository, without building its whole view. */
    const forgeOf = (p: PreviewObject) =>
      ctx.repositories.get(p.metadata.namespace, p.spec.repository)?.spec.repository;
    let open = true;
    /** Asks about a repository first seen after the stream opened; once allowed, sends its previews. */
    const ask = (forge: string, then?: () => void) => {
      asked.add(forge);
      readable(forge).then(
        (ok) => {
          if (!ok || !open) return;
          allowed.add(forge);
          then?.();
          for (const p of ctx.previews.list()) {
            if (forgeOf(p) !== forge) continue;
            const view = viewOf(ctx, p);
            if (matches(view, filters)) res.write(sse('upsert', view));
          }
        },
        // GitHub down: the previews of that repository show after a reconnect.
        (e: Error) => request.log.warn({ forge, err: e.message }, 'read permission unknown'),
      );
    };

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const items = ctx.previews
      .list()
      .filter(wanted)
      .map((p) => viewOf(ctx, p))
      .sort(compareViews);
    res.write(sse('snapshot', { items }));

    const subscriber: Subscriber = {
      preview: (e) => {
        if (!all) {
          const forge = forgeOf(e.object);
          if (forge && !asked.has(forge)) ask(forge);
        }
        const key = { namespace: e.object.metadata.namespace, name: e.object.metadata.name };
        if (e.type === 'deleted') {
          if (wanted(e.object)) res.write(sse('delete', key));
        } else if (wanted(e.object)) {
          res.write(sse('upsert', viewOf(ctx, e.object)));
        } else if (e.type === 'updated' && wanted(e.old)) {
          res.write(sse('delete', key)); // no longer matches the filters
        }
      },
      forks: (r) => {
        const key = { namespace: r.metadata.namespace as string, repository: r.metadata.name as string };
        if (filters.namespace && filters.namespace !== key.namespace) return;
        if (filters.repository && filters.repository !== key.repository) return;
        const hint = () => res.write(sse('approvals', key));
        if (all || allowed.has(r.spec.repository)) hint();
        else if (r.spec.repository && !asked.has(r.spec.repository)) ask(r.spec.repository, hint);
      },
    };
    subscribers.add(subscriber);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    request.log.debug({ filters, streams: subscribers.size }, 'event stream opened');
    res.on('close', () => {
      open = false;
      subscribers.delete(subscriber);
      clearInterval(heartbeat);
      request.log.debug({ streams: subscribers.size }, 'event stream closed');
    });
  });
}
