// What a verified webhook event does to the previews of one PreviewRepository: a pure function of
// the event, the repository and its existing previews, so that every case is a table test.

import type { ForkPullRequest } from '../../api/preview-repository.ts';
import { approveCommand } from '../../controllers/preview/approvals.ts';
import { DELIVERY_ANNOTATION, EVENT_TIME_ANNOTATION } from '../../controllers/preview/labels.ts';
import type { PreviewObject, RepositoryObject } from '../../controllers/preview/model.ts';
import { branchMatches, newPreview } from '../../controllers/preview/naming.ts';
import { fromFork, type GitHubEvent } from './event.ts';

export interface Incoming {
  delivery: string;
  /** The event's own time, when it has one (pull requests). */
  eventTime?: string;
}

export type Action =
  /** Create this preview; one that already exists is left as it is. */
  | { type: 'create'; preview: PreviewObject }
  /** Per pull request: create it, or move its commit if this event is newer than the one applied. */
  | { type: 'upsert'; preview: PreviewObject }
  | { type: 'undeploy'; namespace: string; name: string };

export interface Plan {
  actions: Action[];
  /** Why nothing is done, for the log line and the 200 answer. */
  ignored?: string;
  /**
   * A fork's pull request whose commit waits for someone to create its preview (forkPolicy:
   * Ignore): recorded in the repository's status.forkPullRequests, and reported to GitHub.
   */
  awaitingApproval?: ForkPullRequest;
  /** A fork's pull request closed: it leaves status.forkPullRequests (unless newer there). */
  forkClosed?: { number: number; updatedAt: string };
}

const PR_CREATE = new Set(['opened', 'reopened', 'synchronize']);

export function planEvent(
  event: GitHubEvent,
  incoming: Incoming,
  repository: RepositoryObject,
  previews: PreviewObject[],
): Plan {
  const namespace = repository.metadata.namespace as string;
  const repoName = repository.metadata.name as string;
  const perPullRequest = repository.spec.previewPer === 'PullRequest';
  const own = previews.filter((p) => p.spec.repository === repoName && !p.metadata.deletionTimestamp);
  const undeploy = (match: (p: PreviewObject) => boolean, none: string): Plan => {
    const actions: Action[] = own
      .filter(match)
      .map((p) => ({ type: 'undeploy', namespace, name: p.metadata.name as string }));
    return actions.length ? { actions } : { actions, ignored: none };
  };
  const manifest = (spec: PreviewObject['spec']): PreviewObject =>
    newPreview(repository, spec, {
      [DELIVERY_ANNOTATION]: incoming.delivery,
      ...(incoming.eventTime ? { [EVENT_TIME_ANNOTATION]: incoming.eventTime } : {}),
    });

  switch (event.kind) {
    case 'ping':
      return { actions: [], ignored: 'ping' };
    case 'other':
      return { actions: [], ignored: `event ${event.name} is not one previews use` };
    case 'delete': {
      if (event.refType !== 'branch')
        return { actions: [], ignored: `deleted a ${event.refType}, not a branch` };
      return undeploy(
        (p) => p.spec.pullRequest === undefined && p.spec.branch === event.ref,
        `no preview of deleted branch ${event.ref}`,
      );
    }
    case 'push': {
      if (!event.ref.startsWith('refs/heads/'))
        return { actions: [], ignored: `${event.ref} is not a branch` };
      const branch = event.ref.slice('refs/heads/'.length);
      if (event.deleted)
        return undeploy(
          (p) => p.spec.pullRequest === undefined && p.spec.branch === branch,
          `no preview of deleted branch ${branch}`,
        );
      const patterns = repository.spec.branches ?? [];
      if (!patterns.some((pattern) => branchMatches(pattern, branch)))
        return { actions: [], ignored: `branch ${branch} matches none of spec.branches` };
      // Pushes to branches get a preview per commit in both modes.
      return {
        actions: [
          { type: 'create', preview: manifest({ repository: repoName, branch, commit: event.commit }) },
        ],
      };
    }
    case 'pull_request': {
      // A close that arrives after the pull request was reopened leaves the reopened one's preview.
      if (event.action === 'closed') {
        const plan = undeploy(
          (p) => p.spec.pullRequest === event.number && !setAfter(p, incoming.eventTime),
          `no preview of pull request #${event.number} from before this event`,
        );
        return fromFork(event)
          ? { ...plan, forkClosed: { number: event.number, updatedAt: event.updatedAt } }
          : plan;
      }
      if (!PR_CREATE.has(event.action))
        return { actions: [], ignored: `pull_request ${event.action} changes no preview` };
      const patterns = repository.spec.pullRequestTargets ?? [];
      if (!patterns.some((pattern) => branchMatches(pattern, event.baseRef)))
        return {
          actions: [],
          ignored: `pull request #${event.number} targets ${event.baseRef}, which matches none of spec.pullRequestTargets`,
        };
      const fork = fromFork(event);
      if (fork && repository.spec.forkPolicy !== 'Preview') {
        const waiting: ForkPullRequest = {
          number: event.number,
          commit: event.headSha,
          branch: event.headRef,
          targetBranch: event.baseRef,
          fork: event.headRepository ?? '',
          updatedAt: event.updatedAt,
        };
        return {
          actions: [],
          awaitingApproval: waiting,
          ignored: `pull request #${event.number} comes from the fork ${event.headRepository ?? '(deleted)'} and spec.forkPolicy is Ignore: to approve commit ${event.headSha}, create its preview: ${approveCommand(namespace, repoName, waiting)}`,
        };
      }
      const forkTemplate = fork ? repository.spec.forkTemplate : undefined;
      const preview = manifest({
        repository: repoName,
        branch: event.headRef,
        pullRequest: event.number,
        commit: event.headSha,
        targetBranch: event.baseRef,
        ...(forkTemplate ? { template: forkTemplate } : {}),
      });
      return { actions: [{ type: perPullRequest ? 'upsert' : 'create', preview }] };
    }
  }
}

/** The preview was set by a pull-request event newer than `time`. */
function setAfter(p: PreviewObject, time: string | undefined): boolean {
  const at = p.metadata.annotations?.[EVENT_TIME_ANNOTATION];
  return !!at && !!time && Date.parse(at) > Date.parse(time);
}

export type Merge = { do: 'create' } | { do: 'update' } | { do: 'skip'; reason: string };

/**
 * Whether an incoming pull-request event moves an existing per-pull-request preview: a delivery
 * already applied changes nothing, nor does an event older than the one that set the commit.
 */
export function mergePullRequest(existing: PreviewObject | undefined, incoming: PreviewObject): Merge {
  if (!existing) return { do: 'create' };
  // upsert passes only live previews (previewHome moves a reopened pull request to the alternate
  // name); kept so that the rule holds for any caller.
  if (existing.metadata.deletionTimestamp) return { do: 'skip', reason: 'the preview is being undeployed' };
  const have = existing.metadata.annotations ?? {};
  const want = incoming.metadata.annotations ?? {};
  if (have[DELIVERY_ANNOTATION] && have[DELIVERY_ANNOTATION] === want[DELIVERY_ANNOTATION])
    return { do: 'skip', reason: `delivery ${want[DELIVERY_ANNOTATION]} already applied` };
  const appliedAt = have[EVENT_TIME_ANNOTATION];
  const incomingAt = want[EVENT_TIME_ANNOTATION];
  if (appliedAt && incomingAt && Date.parse(incomingAt) < Date.parse(appliedAt))
    return { do: 'skip', reason: `event of ${incomingAt} is older than the applied one of ${appliedAt}` };
  if (
    existing.spec.commit === incoming.spec.commit &&
    existing.spec.targetBranch === incoming.spec.targetBranch
  )
    return { do: 'skip', reason: `already at commit ${incoming.spec.commit}` };
  return { do: 'update' };
}
