// Placeholder: the GitHub engineer replaces this module with POST /webhooks/github.
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.ts';

export async function registerWebhookRoutes(_app: FastifyInstance, _ctx: HttpContext): Promise<void> {}
