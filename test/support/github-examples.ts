// GitHub's own webhook payloads (@octokit/webhooks-examples), picked by event and action, as
// deep copies that a test may change (a branch name, a commit) without touching the others.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const all = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Record<string, unknown>[];
}[];

// biome-ignore lint/suspicious/noExplicitAny: payloads are GitHub's, tests poke into them
export type Payload = Record<string, any>;

/** The first example of `event` satisfying `match`, copied. */
export function example(event: string, match: (p: Payload) => boolean = () => true): Payload {
  const found = all.find((e) => e.name === event)?.examples.find(match);
  if (!found) throw new Error(`@octokit/webhooks-examples has no matching ${event} example`);
  return structuredClone(found);
}

export const pullRequest = (action: string) => example('pull_request', (p) => p.action === action);
/** A push of a new commit to a branch. */
export const branchPush = () => example('push', (p) => p.ref.startsWith('refs/heads/') && !p.deleted);
/** A push that deleted a ref (GitHub's example deletes a tag; tests re-aim it at a branch). */
export const deletingPush = () => example('push', (p) => p.deleted === true);

/** Points a payload at another repository: `repository.full_name` and its owner/name. */
export function forRepository(p: Payload, fullName: string): Payload {
  const [owner, name] = fullName.split('/') as [string, string];
  p.repository.full_name = fullName;
  p.repository.name = name;
  p.repository.owner.login = owner;
  // A pull request's head and base live in the repository too, unless it comes from a fork.
  for (const side of ['head', 'base']) {
    const repo = p.pull_request?.[side]?.repo;
    if (repo) Object.assign(repo, { full_name: fullName, name, owner: { ...repo.owner, login: owner } });
  }
  return p;
}

/**
 * GitHub's `pull_request` example as an event of pull request `number` of `repository` into main,
 * at `head`; `updatedAt` orders it among the pull request's events.
 */
export function pullRequestEvent(
  repository: string,
  action: string,
  number: number,
  head: string,
  updatedAt?: Date,
): Payload {
  const p = forRepository(pullRequest(action), repository);
  p.number = number;
  p.pull_request.number = number;
  p.pull_request.base.ref = 'main';
  p.pull_request.head.sha = head;
  if (updatedAt) p.pull_request.updated_at = updatedAt.toISOString();
  return p;
}

/** Makes a pull request come from a fork: its head in `fullName`, or in a deleted fork (null). */
export function fromFork(p: Payload, fullName: string | null): Payload {
  const head = p.pull_request.head;
  if (fullName === null) head.repo = null;
  else {
    const [owner, name] = fullName.split('/') as [string, string];
    head.repo = {
      ...head.repo,
      full_name: fullName,
      name,
      fork: true,
      owner: { ...head.repo.owner, login: owner },
    };
    head.label = `${owner}:${head.ref}`;
  }
  return p;
}
