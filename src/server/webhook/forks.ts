// The pull requests from forks a repository waits on (status.forkPullRequests, forkPolicy: Ignore):
// the webhook records each one's newest commit and drops it when it closes, so that the API and the
// web UI can offer to approve it. Deliveries may come out of order: `updatedAt` decides.
import { type ForkPullRequest, MAX_FORK_PULL_REQUESTS } from '../../api/preview-repository.ts';
import { PREVIEW_REPOSITORIES, type RepositoryObject } from '../../controllers/preview/model.ts';
import { isConflict, type KubeClient } from '../../runtime/kube-client.ts';

export type ForkChange =
  | { type: 'open'; pullRequest: ForkPullRequest }
  | { type: 'closed'; number: number; updatedAt: string };

const newer = (a: string, b: string) => Date.parse(a) > Date.parse(b);

/** The list after a change, newest first and at most `max` long; undefined when it stays as it is. */
export function nextForkPullRequests(
  list: ForkPullRequest[],
  change: ForkChange,
  max = MAX_FORK_PULL_REQUESTS,
): ForkPullRequest[] | undefined {
  const number = change.type === 'open' ? change.pullRequest.number : change.number;
  const updatedAt = change.type === 'open' ? change.pullRequest.updatedAt : change.updatedAt;
  const known = list.find((f) => f.number === number);
  // An event older than the one recorded changes nothing (a close included: reopened since).
  if (known && newer(known.updatedAt, updatedAt)) return undefined;
  const others = list.filter((f) => f.number !== number);
  if (change.type === 'closed') return known ? others : undefined;
  if (known && JSON.stringify(known) === JSON.stringify(change.pullRequest)) return undefined;
  const next = [change.pullRequest, ...others]
    .sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt))
    .slice(0, max);
  return next.includes(change.pullRequest) ? next : undefined; // older than a full list holds
}

const ATTEMPTS = 5;

/** Writes a change to the repository's status, read fresh; true when the list changed. */
export async function recordForkChange(
  client: KubeClient,
  namespace: string,
  name: string,
  change: ForkChange,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const repository = await client.get<RepositoryObject>(PREVIEW_REPOSITORIES, namespace, name);
    const next = nextForkPullRequests(repository.status?.forkPullRequests ?? [], change);
    if (!next) return false;
    try {
      // The resourceVersion read: a concurrent webhook's write makes this a 409, and we read again.
      await client.replaceStatus(PREVIEW_REPOSITORIES, {
        ...repository,
        status: { ...repository.status, forkPullRequests: next.length ? next : undefined },
      });
      return true;
    } catch (e) {
      if (!isConflict(e) || attempt === ATTEMPTS) throw e;
    }
  }
}
