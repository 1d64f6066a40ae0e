// Placeholder: the UI engineer replaces this module with GET / and /ui/* assets.
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.ts';

export async function registerUiRoutes(_app: FastifyInstance, _ctx: HttpContext): Promise<void> {}
