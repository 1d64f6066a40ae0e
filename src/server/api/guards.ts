// Checks every route shares: scopes, path names, served namespaces, a synced cache.
import type { FastifyRequest } from 'fastify';
import { AuthError, type Identity, type Scope } from '../auth.ts';
import { GitHubUnavailable } from '../auth-github-http.ts';
import type { HttpContext } from '../context.ts';
import { badRequest, HttpError, notFound } from './errors.ts';

/** The caller's identity; a malformed header or an unknown token is a 401. */
export async function identify(ctx: HttpContext, request: FastifyRequest): Promise<Identity> {
  return ctx.auth.authenticate(request).catch(asHttpError);
}

/** 401 without credentials, 403 with a token whose scopes lack `scope`. */
export async function requireScope(
  ctx: HttpContext,
  request: FastifyRequest,
  scope: Scope,
): Promise<Identity> {
  const who = await identify(ctx, request);
  if (who.scopes.includes(scope)) return who;
  if (!who.subject)
    throw new HttpError(
      401,
      'Unauthorized',
      `this needs a token with scope ${scope}: send "Authorization: Bearer <token>"`,
    );
  throw new HttpError(
    403,
    'Forbidden',
    `token "${who.subject}" has scopes [${who.scopes.join(', ')}]; this needs ${scope}`,
  );
}

/** An authentication or a login's permission check that failed, as the HTTP answer. */
function asHttpError(e: unknown): never {
  if (e instanceof AuthError)
    throw new HttpError(e.code, e.code === 401 ? 'Unauthorized' : 'Forbidden', e.message);
  if (e instanceof GitHubUnavailable) throw new HttpError(502, 'GitHubUnavailable', e.message);
  throw e;
}

/**
 * Whether the caller may read the previews of a forge repository ("owner/name"); for none (null),
 * whether it may read everything.
 */
export type ReadAccess = (repository: string | null | undefined) => Promise<boolean>;

/**
 * What the caller may read: everything with the read scope (a token, or anyone with public reads);
 * for a GitHub login, the previews of the repositories it has at least read permission on (each
 * asked once per request, and kept a few minutes by the login). 401 or 403 for anyone else.
 */
export async function readAccess(ctx: HttpContext, request: FastifyRequest): Promise<ReadAccess> {
  const who = await identify(ctx, request);
  if (who.scopes.includes('read')) return async () => true;
  const authorize = ctx.auth.authorize?.bind(ctx.auth);
  if (!who.github || !authorize) {
    await requireScope(ctx, request, 'read');
    return async () => false;
  }
  const asked = new Map<string, Promise<boolean>>();
  return (repository) => {
    if (!repository) return Promise.resolve(false);
    let answer = asked.get(repository);
    if (!answer) {
      answer = authorize(who, 'read', repository).catch(asHttpError);
      asked.set(repository, answer);
    }
    return answer;
  };
}

/**
 * Like requireScope, for an action on the previews of one repository (the forge's "owner/name"):
 * tokens need the scope, a GitHub login needs the permission on that repository. What a login may
 * not even read it cannot tell exists: `missing` is the answer then, as for nothing there.
 */
export async function requireAction(
  ctx: HttpContext,
  request: FastifyRequest,
  action: Scope,
  repositoryOf: () => Promise<string | undefined>,
  missing: () => HttpError,
): Promise<Identity> {
  const who = await identify(ctx, request);
  if (who.scopes.includes(action)) return who;
  if (who.github && ctx.auth.authorize) {
    const repository = await repositoryOf();
    if (await ctx.auth.authorize(who, action, repository).catch(asHttpError)) return who;
    if (!repository || !(await ctx.auth.authorize(who, 'read', repository).catch(asHttpError)))
      throw missing();
    throw new HttpError(
      403,
      'Forbidden',
      `GitHub user "${who.github.login}" may not ${action} previews of ${repository}: this needs write, maintain or admin permission on it`,
    );
  }
  return requireScope(ctx, request, action);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A namespace this server serves (a DNS label); 400 when malformed, 404 when not served. */
export function checkNamespace(ctx: HttpContext, namespace: string): string {
  if (namespace.length > 63 || !DNS_LABEL.test(namespace))
    throw badRequest(
      `namespace "${namespace}" is not a valid namespace name (lower case letters, digits and "-", at most 63)`,
    );
  if (ctx.namespaces.length && !ctx.namespaces.includes(namespace))
    throw notFound(
      'NamespaceNotServed',
      `namespace "${namespace}" is not served here (served: ${ctx.namespaces.join(', ')})`,
    );
  return namespace;
}

export function checkName(name: string): string {
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    throw badRequest(
      `"${name}" is not a valid preview name (lower case letters, digits, "-" and ".", at most 253)`,
    );
  return name;
}

/** Waits for the first list of the caches (at most 10 s), else 503. */
export async function cachesSynced(ctx: HttpContext): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 10_000);
  });
  const result = await Promise.race([Promise.all([ctx.previews.synced, ctx.repositories.synced]), timeout]);
  clearTimeout(timer);
  if (result === 'timeout')
    throw new HttpError(
      503,
      'NotReady',
      'the watch caches have not synced with the API server yet; retry shortly',
    );
}
