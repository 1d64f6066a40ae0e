// A fork's pull request whose commit waits for someone to create its preview (forkPolicy: Ignore)
// gets a pending commit status that says so: its author sees why no preview comes, and a required
// `bosun/preview` check holds the merge until then. It links to the web UI's approvals only when
// `--public-url` says where that is (never from the delivery's Host header, the sender's to
// choose). Sent beside the answer, never before it, and not retried past the client's own
// retries: a status lost is a hint lost, not a preview.

import type { RepositoryObject } from '../../controllers/preview/model.ts';
import { STATUS_CONTEXT, uiLink } from '../../controllers/preview-github/report.ts';
import type { GitHubClients } from '../../github/client.ts';
import type { Logger } from '../../runtime/log.ts';

export const AWAITING_APPROVAL =
  'Waiting for approval: a preview of a fork is built once someone who may operate previews creates it';

export async function reportAwaitingApproval(
  clients: GitHubClients,
  repository: RepositoryObject,
  commit: string,
  log: Logger,
  opts: { publicUrl?: string } = {},
): Promise<void> {
  const { namespace, name } = repository.metadata as { namespace: string; name: string };
  try {
    const gh = await clients.forRepository(repository);
    if (!gh) return;
    await gh.octokit.rest.repos.createCommitStatus({
      owner: gh.owner,
      repo: gh.repo,
      sha: commit,
      state: 'pending',
      context: STATUS_CONTEXT,
      description: AWAITING_APPROVAL,
      ...(opts.publicUrl ? { target_url: uiLink(opts.publicUrl, `${namespace}/${name}`) } : {}),
    });
  } catch (e) {
    log.warn({ commit, err: (e as Error).message }, 'could not report the fork awaiting approval');
  }
}
