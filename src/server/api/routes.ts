// Everything under /api/v1.
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.ts';
import { registerApprovalRoutes } from './approvals.ts';
import { type EventsOptions, registerEventRoutes } from './events.ts';
import { identify } from './guards.ts';
import { registerLogRoutes } from './logs.ts';
import { openApiDocument } from './openapi.ts';
import { registerPreviewRoutes } from './previews.ts';

export async function registerApiRoutes(
  app: FastifyInstance,
  ctx: HttpContext,
  opts: EventsOptions = {},
): Promise<void> {
  // JSON only: a text body is a 415, not a string to parse.
  app.removeContentTypeParser('text/plain');
  app.get('/api/v1/openapi.json', async () => openApiDocument);
  app.get('/api/v1/whoami', async (request) => {
    const who = await identify(ctx, request);
    return {
      authenticated: !!who.subject,
      ...(who.subject ? { subject: who.subject } : {}),
      scopes: who.scopes,
      ...(who.github ? { via: 'github', csrfToken: who.github.csrfToken } : {}),
      ...(ctx.auth.loginUrl ? { loginUrl: ctx.auth.loginUrl } : {}),
    };
  });
  await registerPreviewRoutes(app, ctx);
  await registerApprovalRoutes(app, ctx);
  await registerLogRoutes(app, ctx);
  await registerEventRoutes(app, ctx, opts);
}
