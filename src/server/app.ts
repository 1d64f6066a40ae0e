// The HTTP server of previews: the REST API, the GitHub webhook receiver and the web UI, on one
// fastify instance. `bosun serve` runs it alone; `bosun run --http-address` inside the operator.
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { installErrorHandlers } from './api/errors.ts';
import { registerApiRoutes } from './api/routes.ts';
import type { HttpContext } from './context.ts';
import type { Check } from './probes.ts';
import { registerUiRoutes } from './ui/routes.ts';
import { registerWebhookRoutes } from './webhook/routes.ts';

export interface HttpServerOptions {
  /** Checks behind /readyz (e.g. the manager's caches); /healthz answers while the process runs. */
  readiness?: () => Check[];
  /** The SSE comment heartbeat (default 15 s). */
  heartbeatMs?: number;
}

export function createHttpServer(ctx: HttpContext, opts: HttpServerOptions = {}): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.log.child({ component: 'http' }),
    // One line per request from our onResponse hook, not fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
  }) as unknown as FastifyInstance;
  installErrorHandlers(app);
  app.addHook('onResponse', async (request, reply) => {
    const entry = {
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) request.log.error(entry, 'request');
    else request.log.debug(entry, 'request');
  });
  app.get('/healthz', async (_request, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_request, reply) => {
    const failed = (opts.readiness?.() ?? [])
      .map((c) => ({ name: c.name, problem: c.check() }))
      .filter((c) => c.problem);
    return reply
      .code(failed.length ? 503 : 200)
      .type('text/plain')
      .send(failed.length ? `${failed.map((f) => `[-] ${f.name}: ${f.problem}`).join('\n')}\n` : 'ok\n');
  });
  app.register(async (api) => registerApiRoutes(api, ctx, { heartbeatMs: opts.heartbeatMs }));
  app.register(async (hooks) => registerWebhookRoutes(hooks, ctx));
  app.register(async (ui) => registerUiRoutes(ui, ctx));
  const login = ctx.login;
  if (login) app.register(async (routes) => login.registerRoutes(routes));
  return app;
}

/** Listens on `host:port`; resolves once it accepts connections. */
export async function listen(app: FastifyInstance, address: { host: string; port: number }): Promise<string> {
  return app.listen({ host: address.host, port: address.port });
}
