// Bearer tokens and their scopes (the full implementation follows).
import type { FastifyRequest } from 'fastify';

export type Scope = 'read' | 'operate' | 'admin';

export interface Identity {
  subject?: string;
  scopes: Scope[];
}

export interface Authenticator {
  authenticate(request: FastifyRequest): Promise<Identity>;
}
