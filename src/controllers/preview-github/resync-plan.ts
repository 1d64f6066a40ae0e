// The resync's decisions (pure). A webhook Bosun never received (it was down, GitHub gave up) would
// leave a closed pull request's or a deleted branch's previews deployed for ever, and a fork's
// pull request listed as waiting. The resync compares what the repository has on GitHub with the
// previews: first the listings name candidates, then each candidate is asked about on its own,
// and only an answer that it is closed or gone undeploys anything. A listing can lag behind GitHub
// (a pull request opened a second ago); a direct answer, read just before acting, does not.
import type { ForkPullRequest } from '../../api/preview-repository.ts';
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

/** Pull requests and branches with previews (or a waiting fork entry) that the listings lack. */
export function resyncCandidates(
  previews: PreviewObject[],
  forks: ForkPullRequest[],
  listed: Listed,
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
  const sortedPulls = [...pullRequests].sort((a, b) => a - b);
  const sortedBranches = [...branches].sort();
  return {
    pullRequests: sortedPulls.slice(0, max),
    branches: sortedBranches.slice(0, Math.max(0, max - sortedPulls.length)),
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
      if (confirmed.closedPullRequests.has(number))
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
