// GET /api/v1/approvals: the commits of pull requests from forks that wait for someone to create
// their preview (forkPolicy: Ignore; controllers/preview/approvals.ts). Approving one is creating
// that preview: POST /api/v1/namespaces/{namespace}/previews with the fields given here.
import type { FastifyInstance } from 'fastify';
import { type Waiting, waitingForApproval } from '../../controllers/preview/approvals.ts';
import type { HttpContext } from '../context.ts';
import { cachesSynced, checkNamespace, readAccess } from './guards.ts';
import { parseEventsQuery } from './query.ts';
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
  links: ReturnType<typeof forgeLinks>;
}

/** What the API shows of a fork's pull request waiting for approval. */
export function approvalView({ repository: r, pullRequest: f }: Waiting): ApprovalView {
  return {
    namespace: r.metadata.namespace as string,
    repository: r.metadata.name as string,
    forgeRepository: r.spec.repository ?? null,
    pullRequest: f.number,
    commit: f.commit,
    branch: f.branch,
    targetBranch: f.targetBranch,
    fork: f.fork,
    updatedAt: f.updatedAt,
    links: forgeLinks(r, f.commit, f.number),
  };
}

export async function registerApprovalRoutes(app: FastifyInstance, ctx: HttpContext): Promise<void> {
  app.get('/api/v1/approvals', async (request) => {
    const readable = await readAccess(ctx, request);
    // The event stream's query: namespace and repository.
    const { namespace, repository } = parseEventsQuery(request.query as Record<string, unknown>);
    if (namespace) checkNamespace(ctx, namespace);
    await cachesSynced(ctx);
    const repositories = (
      namespace ? ctx.repositories.listNamespace(namespace) : ctx.repositories.list()
    ).filter((r) => (!repository || r.metadata.name === repository) && r.status?.forkPullRequests?.length);
    const views = waitingForApproval(repositories, (ns) => ctx.previews.listNamespace(ns)).map(approvalView);
    const allowed = await Promise.all(views.map((v) => readable(v.forgeRepository)));
    return { items: views.filter((_, i) => allowed[i]) };
  });
}
