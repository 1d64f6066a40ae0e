// The resync's decisions (pure). A webhook Bosun never received (it was down, GitHub gave up) would
// leave a closed pull request's or a deleted branch's previews deployed for ever, and a fork's
// pull request listed as waiting. The resync compares what the repository has on GitHub with the
// previews: first the listings name candidates, then each candidate is asked about on its own,
// and only an answer that it is closed or gone undeploys anything. A listing can lag behind GitHub
// (a pull request opened a second ago); a direct answer does not, and a preview the webhook set
// after the close it reports (reopened meanwhile) is left.
import type { ForkPullRequest } from '../../api/preview-repository.ts';
import { EVENT_TIME_ANNOTATION } from '../preview/labels.ts';
import { isDeleting, type PreviewObject } from '../preview/model.ts';

/** GitHub calls a round may spend on confirming candidates; the rest wait for the next round. */
export const MAX_CONFIRMATIONS = 50;

export interface Listed {
  /** Numbers of the repository's open pull requests, every page read. */
  openPullRequests: Set<number>;
  /** The repository's branches, every page read. */
  branches: Set<string>;
}

export interface Candidates {
  pullRequests: number[];
  branches: string[];
}

/**
 * Pull requests and branches with previews (or a waiting fork entry) that the listings lack, at
 * most `max`, starting at `round · max` in their order: a candidate that never resolves (a pull
 * request GitHub does not know) cannot keep the others from being asked about.
 */
export function resyncCandidates(
  previews: PreviewObject[],
  forks: ForkPullRequest[],
  listed: Listed,
  round = 0,
  max = MAX_CONFIRMATIONS,
): Candidates {
  const pullRequests = new Set<number>();
  const branches = new Set<string>();
  for (const p of previews) {
    if (isDeleting(p)) continue;
    const number = p.spec.pullRequest;
    if (number !== undefined) {
      if (!listed.openPullRequests.has(number)) pullRequests.add(number);
    } else if (!listed.branches.has(p.spec.branch)) branches.add(p.spec.branch);
  }
  for (const f of forks) if (!f.closed && !listed.openPullRequests.has(f.number)) pullRequests.add(f.number);
  const all: (number | string)[] = [...[...pullRequests].sort((a, b) => a - b), ...[...branches].sort()];
  const start = all.length > max ? (round * max) % all.length : 0;
  const asked = [...all.slice(start), ...all.slice(0, start)].slice(0, max);
  return {
    pullRequests: asked.filter((c) => typeof c === 'number'),
    branches: asked.filter((c) => typeof c === 'string'),
  };
}

export interface Confirmed {
  /** Pull requests GitHub answered `closed` for, with their `updated_at`. */
  closedPullRequests: Map<number, string>;
  /** Branches GitHub answered 404 for. */
  goneBranches: Set<string>;
}

export interface ResyncPlan {
  undeploy: { preview: PreviewObject; why: string }[];
  /** Fork entries to mark closed, as the webhook's `closed` would. */
  closeForks: { number: number; updatedAt: string }[];
}

export function planResync(
  previews: PreviewObject[],
  forks: ForkPullRequest[],
  confirmed: Confirmed,
): ResyncPlan {
  const undeploy: ResyncPlan['undeploy'] = [];
  for (const p of previews) {
    if (isDeleting(p)) continue;
    const number = p.spec.pullRequest;
    if (number !== undefined) {
      const closedAt = confirmed.closedPullRequests.get(number);
      // Reopened since: the webhook set this preview after the close GitHub answered with.
      const since = p.metadata.annotations?.[EVENT_TIME_ANNOTATION];
      if (closedAt && !(since && Date.parse(since) > Date.parse(closedAt)))
        undeploy.push({ preview: p, why: `pull request #${number} is closed on GitHub` });
    } else if (confirmed.goneBranches.has(p.spec.branch))
      undeploy.push({ preview: p, why: `branch ${p.spec.branch} no longer exists on GitHub` });
  }
  const closeForks = forks.flatMap((f) => {
    const updatedAt = confirmed.closedPullRequests.get(f.number);
    return !f.closed && updatedAt ? [{ number: f.number, updatedAt }] : [];
  });
  return { undeploy, closeForks };
}
