// GET /api/v1/approvals: the commits of pull requests from forks that wait for someone to create
// their preview (forkPolicy: Ignore). They come from each repository's status.forkPullRequests,
// less those whose commit has a preview by now. Approving one is creating that preview: POST
// /api/v1/namespaces/{namespace}/previews with the fields given here.
import type { FastifyInstance } from 'fastify';
import type { PreviewObject, RepositoryObject } from '../../controllers/preview/model.ts';
import type { HttpContext } from '../context.ts';
import { badRequest } from './errors.ts';
import { cachesSynced, checkNamespace, readAccess } from './guards.ts';
import { forgeLinks } from './views.ts';

export interface ApprovalView {
  namespace: string;
  repository: string;
  forgeRepository: string | null;
  pullRequest: number;
  commit: string;
  branch: string;
  targetBranch: string;
  /** The fork ("owner/name"); empty when it was deleted. */
  fork: string;
  updatedAt: string;
  links: { commit: string | null; pullRequest: string | null };
}

/** The fork pull requests of these repositories whose newest commit has no live preview, newest first. */
export function awaitingApproval(
  repositories: RepositoryObject[],
  previewsOf: (namespace: string) => PreviewObject[],
): ApprovalView[] {
  const approved = new Map<string, Set<string>>();
  const previewed = (namespace: string) => {
    let keys = approved.get(namespace);
    if (!keys) {
      keys = new Set(
        previewsOf(namespace)
          .filter((p) => p.spec.pullRequest !== undefined && !p.metadata.deletionTimestamp)
          .map((p) => `${p.spec.repository}#${p.spec.pullRequest}@${p.spec.commit}`),
      );
      approved.set(namespace, keys);
    }
    return keys;
  };
  const views: ApprovalView[] = [];
  for (const r of repositories) {
    const namespace = r.metadata.namespace as string;
    const repository = r.metadata.name as string;
    for (const f of r.status?.forkPullRequests ?? []) {
      if (previewed(namespace).has(`${repository}#${f.number}@${f.commit}`)) continue;
      views.push({
        namespace,
        repository,
        forgeRepository: r.spec.repository ?? null,
        pullRequest: f.number,
        commit: f.commit,
        branch: f.branch,
        targetBranch: f.targetBranch,
        fork: f.fork,
        updatedAt: f.updatedAt,
        links: forgeLinks(r, f.commit, f.number),
      });
    }
  }
  return views.sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
}

const QUERY_KEYS = ['namespace', 'repository'];

export async function registerApprovalRoutes(app: FastifyInstance, ctx: HttpContext): Promise<void> {
  app.get('/api/v1/approvals', async (request) => {
    const readable = await readAccess(ctx, request);
    const query = request.query as Record<string, unknown>;
    for (const [key, value] of Object.entries(query)) {
      if (!QUERY_KEYS.includes(key))
        throw badRequest(`unknown query parameter "${key}"; accepted: ${QUERY_KEYS.join(', ')}`);
      if (typeof value !== 'string') throw badRequest(`query parameter "${key}" must be given once`);
    }
    const { namespace, repository } = query as { namespace?: string; repository?: string };
    if (namespace) checkNamespace(ctx, namespace);
    await cachesSynced(ctx);
    const repositories = (
      namespace ? ctx.repositories.listNamespace(namespace) : ctx.repositories.list()
    ).filter((r) => (!repository || r.metadata.name === repository) && r.status?.forkPullRequests?.length);
    const views = awaitingApproval(repositories, (ns) => ctx.previews.listNamespace(ns));
    const allowed = await Promise.all(views.map((v) => readable(v.forgeRepository)));
    return { items: views.filter((_, i) => allowed[i]) };
  });
}
