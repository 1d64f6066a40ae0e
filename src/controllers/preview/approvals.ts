// Pull requests from forks that wait for approval (forkPolicy: Ignore): those in a repository's
// status.forkPullRequests whose newest commit has no live preview yet, and the command that
// approves one. The API, the web UI and `bosun preview list` show them.
import type { ForkPullRequest } from '../../api/preview-repository.ts';
import type { PreviewObject, RepositoryObject } from './model.ts';

export interface Waiting {
  repository: RepositoryObject;
  pullRequest: ForkPullRequest;
}

/** Of these repositories, newest first. */
export function waitingForApproval(
  repositories: RepositoryObject[],
  previewsOf: (namespace: string) => PreviewObject[],
): Waiting[] {
  const previewed = new Map<string, Set<string>>();
  const hasPreview = (namespace: string, key: string) => {
    let keys = previewed.get(namespace);
    if (!keys) {
      keys = new Set(
        previewsOf(namespace)
          .filter((p) => p.spec.pullRequest !== undefined && !p.metadata.deletionTimestamp)
          .map((p) => `${p.spec.repository}#${p.spec.pullRequest}@${p.spec.commit}`),
      );
      previewed.set(namespace, keys);
    }
    return keys.has(key);
  };
  const waiting: Waiting[] = [];
  for (const repository of repositories)
    for (const pullRequest of repository.status?.forkPullRequests ?? [])
      if (
        !pullRequest.closed &&
        !hasPreview(
          repository.metadata.namespace as string,
          `${repository.metadata.name}#${pullRequest.number}@${pullRequest.commit}`,
        )
      )
        waiting.push({ repository, pullRequest });
  return waiting.sort((a, b) => Date.parse(b.pullRequest.updatedAt) - Date.parse(a.pullRequest.updatedAt));
}

/** The command that approves a fork's commit: its preview, created by a person. */
export function approveCommand(namespace: string, repository: string, f: ForkPullRequest): string {
  const flags: [string, string][] = [
    ['-n', namespace],
    ['--repository', repository],
    ['--pr', String(f.number)],
    ['--branch', f.branch],
    ['--target-branch', f.targetBranch],
    ['--commit', f.commit],
  ];
  return `bosun preview create ${flags.map(([flag, value]) => `${flag} ${shellWord(value)}`).join(' ')}`;
}

/**
 * A word a shell reads back as it is. A fork names its branch, and `x;curl…|sh` is a valid branch
 * name: the command is meant to be pasted into a terminal.
 */
export const shellWord = (w: string) => (/^[\w./@:=+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`);
