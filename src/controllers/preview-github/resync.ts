// The resync: every interval, per PreviewRepository with credentials, what GitHub has is compared
// with the previews (resync-plan.ts), so that a closed pull request or a deleted branch whose
// webhook was lost is undeployed all the same, and a closed fork pull request stops waiting for
// approval. Keyed by repository on its own work queue. A repository's first round comes at a
// random time within one interval of the process taking the lead: restarts do not each cost a
// round, and a leader replaced more often than the interval still resyncs.
import { Counter } from 'prom-client';
import type { ForkPullRequest } from '../../api/preview-repository.ts';
import type { GitHubClients, RepositoryClient } from '../../github/client.ts';
import { RateLimitedError } from '../../github/retry.ts';
import { ExponentialBackoff } from '../../runtime/backoff.ts';
import { Controller, type ReconcileContext, type ReconcileResult } from '../../runtime/controller.ts';
import { isConflict, isNotFound } from '../../runtime/kube-client.ts';
import type { Manager } from '../../runtime/manager.ts';
import { objectKey } from '../../runtime/watch-cache.ts';
import { recordForkChange } from '../preview/forks.ts';
import {
  isDeleting,
  PREVIEW_REPOSITORIES,
  PREVIEWS,
  type PreviewObject,
  type RepositoryObject,
} from '../preview/model.ts';
import { type Confirmed, type Listed, planResync, resyncCandidates } from './resync-plan.ts';

export interface ResyncOptions {
  intervalMs: number;
  /** Shared with the reporter: one client (and installation token) per repository. */
  clients: GitHubClients;
}

/** The shortest wait after a failed round (a GitHub outage, a token without the permission). */
const RETRY_MS = 30_000;

export function setupPreviewResyncController(mgr: Manager, opts: ResyncOptions): Controller {
  const previews = mgr.informer<PreviewObject>(PREVIEWS);
  const repositories = mgr.informer<RepositoryObject>(PREVIEW_REPOSITORIES);
  const { clients, intervalMs } = opts;
  const undeploys = new Counter({
    name: 'bosun_preview_resync_undeploys_total',
    help: 'Previews the resync with GitHub undeployed (their webhook was missed), by why',
    labelNames: ['why'],
    registers: [mgr.metrics.registry],
  });
  /** When each repository's next round is due, and how many rounds it had (see resyncCandidates). */
  const due = new Map<string, number>();
  const rounds = new Map<string, number>();

  const reconcile = async (ctx: ReconcileContext, key: string): Promise<ReconcileResult> => {
    const [namespace, name] = key.split('/') as [string, string];
    const repository = repositories.get(namespace, name);
    if (!repository) {
      due.delete(key);
      rounds.delete(key);
      return undefined;
    }
    const now = Date.now();
    const at = due.get(key) ?? now + Math.max(Math.min(RETRY_MS, intervalMs), intervalMs * Math.random());
    due.set(key, at);
    if (at > now) return { requeueAfterMs: at - now };
    const gh = await clients.forRepository(repository);
    if (gh) {
      try {
        await resyncRepository(ctx, gh, repository, rounds.get(key) ?? 0);
      } catch (e) {
        if (e instanceof RateLimitedError) return { requeueAfterMs: e.retryAfterMs };
        if ((e as { status?: number }).status === 401) clients.forget(repository);
        throw e; // retried with this controller's backoff; the round stays due until it succeeds
      }
      rounds.set(key, (rounds.get(key) ?? 0) + 1);
    }
    due.set(key, Date.now() + intervalMs);
    return { requeueAfterMs: intervalMs };
  };

  async function resyncRepository(
    ctx: ReconcileContext,
    gh: RepositoryClient,
    repository: RepositoryObject,
    round: number,
  ) {
    const namespace = repository.metadata.namespace as string;
    const own = () =>
      previews
        .listNamespace(namespace)
        .filter((p) => p.spec.repository === repository.metadata.name && !isDeleting(p));
    const forks = (): ForkPullRequest[] =>
      repositories.get(namespace, repository.metadata.name as string)?.status?.forkPullRequests ?? [];
    const current = own();
    const branchPreviews = current.some((p) => p.spec.pullRequest === undefined);
    const pullRequests =
      current.some((p) => p.spec.pullRequest !== undefined) || forks().some((f) => !f.closed);
    if (!branchPreviews && !pullRequests) return; // nothing GitHub could tell about
    const { octokit, owner, repo } = gh;
    const [open, branches] = await Promise.all([
      pullRequests
        ? octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: 'open', per_page: 100 })
        : [],
      branchPreviews ? octokit.paginate(octokit.rest.repos.listBranches, { owner, repo, per_page: 100 }) : [],
    ]);
    const listed: Listed = {
      openPullRequests: new Set(open.map((p) => p.number)),
      branches: new Set(branches.map((b) => b.name)),
    };
    const candidates = resyncCandidates(current, forks(), listed, round);
    const confirmed: Confirmed = { closedPullRequests: new Map(), goneBranches: new Set() };
    for (const pull_number of candidates.pullRequests) {
      const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number }).catch(notFound);
      if (data?.state === 'closed') confirmed.closedPullRequests.set(pull_number, data.updated_at);
    }
    for (const branch of candidates.branches) {
      // A renamed branch answers with a redirect to its new name, which is followed: the old is gone.
      const gone = await octokit.rest.repos
        .getBranch({ owner, repo, branch })
        .then(({ data }) => data.name !== branch, branchNotFound);
      if (gone) confirmed.goneBranches.add(branch);
    }
    // Decided on the previews as they are now, after the answers.
    const plan = planResync(own(), forks(), confirmed);
    for (const { preview, why } of plan.undeploy) {
      const { name } = preview.metadata as { name: string };
      try {
        // Only the preview the plan saw: one moved to a new commit since is the webhook's again.
        await mgr.client.delete(PREVIEWS, namespace, name, 'Background', {
          uid: preview.metadata.uid as string,
          resourceVersion: preview.metadata.resourceVersion as string,
        });
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) continue;
        throw e;
      }
      undeploys.inc({
        why: preview.spec.pullRequest === undefined ? 'branch-deleted' : 'pull-request-closed',
      });
      ctx.log.info({ preview: name, why }, 'undeployed: the webhook that would have was missed');
      void mgr.events.record(
        preview,
        'Normal',
        'UndeployedByResync',
        `${why}: undeploying (its webhook never arrived)`,
      );
    }
    for (const change of plan.closeForks)
      await recordForkChange(mgr.client, namespace, repository.metadata.name as string, {
        type: 'closed',
        ...change,
      });
    ctx.log.debug(
      {
        open: listed.openPullRequests.size,
        branches: listed.branches.size,
        confirming: candidates.pullRequests.length + candidates.branches.length,
      },
      'resynced with GitHub',
    );
  }

  const controller = new Controller({
    name: 'preview-resync',
    workers: 1,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile,
    backoff: new ExponentialBackoff(Math.min(RETRY_MS, intervalMs), Math.max(RETRY_MS, intervalMs)),
  });
  // A repository's rounds are timed by its own requeue; its updates (the counts) need none.
  controller.watch(repositories, (e) => (e.type === 'updated' ? [] : [objectKey(e.object)]));
  mgr.add(controller);
  return controller;
}

/** A pull request GitHub does not know is no answer: nothing is decided about it. */
function notFound(e: unknown): { data: undefined } {
  if ((e as { status?: number }).status === 404) return { data: undefined };
  throw e;
}

/**
 * Only GitHub's own "Branch not found" says the branch is gone: a 404 for a repository the
 * credentials no longer see (an App removed meanwhile) says nothing about it, and fails the round.
 */
function branchNotFound(e: unknown): true {
  const { status, response } = e as { status?: number; response?: { data?: { message?: string } } };
  if (status === 404 && response?.data?.message === 'Branch not found') return true;
  throw e;
}
