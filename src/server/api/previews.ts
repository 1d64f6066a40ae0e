// /api/v1 previews: list and get from the watch cache; create, start, stop, reset and undeploy
// through the API server.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { previewSpec } from '../../api/preview.ts';
import { validate } from '../../api/schema.ts';
import { RESET_ANNOTATION } from '../../controllers/preview/labels.ts';
import { PREVIEWS, type PreviewObject } from '../../controllers/preview/model.ts';
import { createPreview, newPreview } from '../../controllers/preview/naming.ts';
import { isNotFound } from '../../runtime/kube-client.ts';
import type { HttpContext } from '../context.ts';
import { badRequest, HttpError, notFound } from './errors.ts';
import { cachesSynced, checkName, checkNamespace, readAccess, requireAction } from './guards.ts';
import { matches, paginate, parseListQuery } from './query.ts';
import { previewView } from './views.ts';

type NsParams = { namespace: string };
type NameParams = { namespace: string; name: string };

export function viewOf(ctx: HttpContext, p: PreviewObject) {
  return previewView(p, ctx.repositories.get(p.metadata.namespace, p.spec.repository));
}

/** The served namespace and a valid name of a request's path. */
export function target(ctx: HttpContext, request: FastifyRequest<{ Params: NameParams }>) {
  return { namespace: checkNamespace(ctx, request.params.namespace), name: checkName(request.params.name) };
}

const previewMissing = (ns: string, name: string) =>
  notFound('NotFound', `preview ${ns}/${name} does not exist`);
const repositoryMissing = (ns: string, name: string) =>
  notFound('RepositoryNotFound', `PreviewRepository ${ns}/${name} does not exist`);

/** Turns the API server's 404 about the preview into ours. */
async function onPreview<T>(ns: string, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (isNotFound(e)) throw previewMissing(ns, name);
    throw e;
  }
}

/** The forge repository ("owner/name") of a PreviewRepository object, from the cache. */
async function forgeOfRepository(ctx: HttpContext, namespace: string, repository: unknown) {
  await cachesSynced(ctx);
  return typeof repository === 'string'
    ? ctx.repositories.get(namespace, repository)?.spec.repository
    : undefined;
}

/** The forge repository of a preview, for per-repository authorization; 404 when it does not exist. */
async function forgeOfPreview(ctx: HttpContext, request: FastifyRequest<{ Params: NameParams }>) {
  const { namespace, name } = target(ctx, request);
  await cachesSynced(ctx);
  const p = ctx.previews.get(namespace, name);
  if (!p) throw previewMissing(namespace, name);
  return forgeOfRepository(ctx, namespace, p.spec.repository);
}

/** The caller may operate this preview (a preview it may not read is one it cannot tell exists). */
const mayOperate = (ctx: HttpContext, request: FastifyRequest<{ Params: NameParams }>) =>
  requireAction(
    ctx,
    request,
    'operate',
    () => forgeOfPreview(ctx, request),
    () => previewMissing(request.params.namespace, request.params.name),
  );

export async function registerPreviewRoutes(app: FastifyInstance, ctx: HttpContext): Promise<void> {
  app.get('/api/v1/previews', async (request) => {
    const readable = await readAccess(ctx, request);
    const { filters, page } = parseListQuery(request.query as Record<string, unknown>);
    if (filters.namespace) checkNamespace(ctx, filters.namespace);
    await cachesSynced(ctx);
    const source = filters.namespace ? ctx.previews.listNamespace(filters.namespace) : ctx.previews.list();
    const views = source.map((p) => viewOf(ctx, p)).filter((v) => matches(v, filters));
    if (await readable(null)) return paginate(views, page);
    const allowed = await Promise.all(views.map((v) => readable(v.forgeRepository)));
    return paginate(
      views.filter((_, i) => allowed[i]),
      page,
    );
  });

  app.get<{ Params: NameParams }>('/api/v1/namespaces/:namespace/previews/:name', async (request) => {
    const readable = await readAccess(ctx, request);
    const { namespace, name } = target(ctx, request);
    await cachesSynced(ctx);
    const p = ctx.previews.get(namespace, name);
    // A preview the caller may not read is one it cannot tell exists.
    const view = p && viewOf(ctx, p);
    if (!view || !(await readable(view.forgeRepository))) throw previewMissing(namespace, name);
    return view;
  });

  app.post<{ Params: NsParams }>('/api/v1/namespaces/:namespace/previews', async (request, reply) => {
    const repository = (request.body as { repository?: unknown } | null)?.repository;
    const who = await requireAction(
      ctx,
      request,
      'operate',
      () => forgeOfRepository(ctx, checkNamespace(ctx, request.params.namespace), repository),
      () =>
        typeof repository === 'string'
          ? repositoryMissing(request.params.namespace, repository)
          : badRequest('"repository" must be the name of a PreviewRepository in the namespace'),
    );
    const namespace = checkNamespace(ctx, request.params.namespace);
    if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body))
      throw badRequest(
        'the body must be a JSON object: {"repository", "branch", "commit", "pullRequest"?, "targetBranch"?, "state"?}',
      );
    // A null field is an absent one (as the API server stores it), also for the preview's name.
    const body = Object.fromEntries(Object.entries(request.body).filter(([, v]) => v !== null));
    const problems = validate(previewSpec, body, 'body');
    if (problems.length)
      throw new HttpError(422, 'Invalid', `the preview is invalid: ${problems.join('; ')}`, problems);
    const spec = body as PreviewObject['spec'];
    // A template runs with its secrets: a GitHub login, allowed for one repository, gets that
    // repository's template, never another one of the namespace.
    if (who.github && spec.template !== undefined)
      throw new HttpError(
        403,
        'Forbidden',
        `GitHub user "${who.github.login}" may not choose the template: leave "template" out and the repository's applies (choosing one needs a token with the operate scope)`,
      );
    await cachesSynced(ctx);
    const repo = ctx.repositories.get(namespace, spec.repository);
    if (!repo) throw repositoryMissing(namespace, spec.repository);
    const perPullRequest = repo.spec.previewPer === 'PullRequest';
    const object = newPreview(repo, spec);
    const found = await createPreview(ctx.client, object);
    const name = found.object.metadata.name as string;
    if (found.created) {
      request.log.info({ namespace, name }, 'preview created');
      return reply.code(201).send(viewOf(ctx, found.object));
    }
    let existing = found.object;
    if (perPullRequest && spec.pullRequest !== undefined && existing.spec.commit !== spec.commit) {
      existing = await onPreview(namespace, name, () =>
        ctx.client.mergePatch<PreviewObject>(PREVIEWS, namespace, name, {
          spec: { commit: spec.commit, branch: spec.branch, targetBranch: spec.targetBranch },
        }),
      );
      request.log.info(
        { namespace, name, commit: spec.commit },
        'pull request preview moved to a new commit',
      );
    }
    return reply.code(200).send(viewOf(ctx, existing));
  });

  const act = (verb: string, patch: () => unknown) =>
    app.post<{ Params: NameParams }>(
      `/api/v1/namespaces/:namespace/previews/:name/${verb}`,
      async (request, reply) => {
        const who = await mayOperate(ctx, request);
        const { namespace, name } = target(ctx, request);
        const p = await onPreview(namespace, name, () =>
          ctx.client.mergePatch<PreviewObject>(PREVIEWS, namespace, name, patch()),
        );
        request.log.info({ namespace, name, action: verb, subject: who.subject }, `preview ${verb}`);
        return reply.code(202).send(viewOf(ctx, p));
      },
    );
  act('start', () => ({ spec: { state: 'Running' } }));
  act('stop', () => ({ spec: { state: 'Stopped' } }));
  act('reset', () => ({
    metadata: { annotations: { [RESET_ANNOTATION]: `${Date.now()}-${randomBytes(4).toString('hex')}` } },
  }));

  app.delete<{ Params: NameParams }>(
    '/api/v1/namespaces/:namespace/previews/:name',
    async (request, reply) => {
      const who = await mayOperate(ctx, request);
      const { namespace, name } = target(ctx, request);
      const p = await onPreview(namespace, name, () =>
        ctx.client.get<PreviewObject>(PREVIEWS, namespace, name),
      );
      const deleted = await ctx.client.delete(PREVIEWS, namespace, name, 'Background', {
        uid: p.metadata.uid,
      });
      if (!deleted) throw previewMissing(namespace, name);
      request.log.info({ namespace, name, subject: who.subject }, 'preview undeployed');
      return reply.code(202).send(viewOf(ctx, p));
    },
  );
}
