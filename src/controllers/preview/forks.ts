// The pull requests from forks a repository waits on (status.forkPullRequests, forkPolicy: Ignore):
// the webhook records each one's newest commit, so that the API, the web UI and the CLI can offer
// to approve it, and marks it closed when it closes (the resync too, for a close it missed). Deliveries may come out of order: `updatedAt`
// decides, and the closed mark is what keeps a late delivery from listing it as open again.
import { type ForkPullRequest, MAX_FORK_PULL_REQUESTS } from '../../api/preview-repository.ts';
import { isConflict, type KubeClient } from '../../runtime/kube-client.ts';
import { PREVIEW_REPOSITORIES, type RepositoryObject } from './model.ts';

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
  // A close of one never listed is not recorded: the list holds only what waited at some time.
  if (change.type === 'closed' && (!known || known.closed)) return undefined;
  const entry = change.type === 'closed' ? { ...known, closed: true, updatedAt } : change.pullRequest;
  if (known && JSON.stringify(known) === JSON.stringify(entry)) return undefined;
  const next = [entry as ForkPullRequest, ...list.filter((f) => f.number !== number)]
    .sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt))
    .slice(0, max);
  return next.includes(entry as ForkPullRequest) ? next : undefined; // older than a full list holds
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
