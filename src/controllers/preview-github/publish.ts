// Sends one report to GitHub: the commit status, the deployment and its status (publish), and the
// pull request's comment, created once, then edited (publishComment). Ids GitHub hands back are
// saved on the preview at once (`save`), so that a later failure does not lead to a second
// deployment or comment.
import type { RepositoryClient } from '../../github/client.ts';
import type { PreviewObject } from '../preview/model.ts';
import {
  commentMarker,
  DEPLOYMENT_ANNOTATION,
  REPORTED_ANNOTATION,
  type Report,
  STATUS_CONTEXT,
} from './report.ts';

export interface Known {
  /** The deployment created for `deploymentCommit`. */
  deploymentId?: number;
  deploymentCommit?: string;
}

export type Save = (annotations: Record<string, string>) => Promise<void>;

export async function publish(
  gh: RepositoryClient,
  preview: PreviewObject,
  report: Report,
  known: Known,
  save: Save,
): Promise<void> {
  const { octokit, owner, repo } = gh;
  const sha = preview.spec.commit;
  if (report.status)
    await octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha,
      state: report.status.state,
      context: STATUS_CONTEXT,
      description: report.status.description,
      ...(report.status.targetUrl ? { target_url: report.status.targetUrl } : {}),
    });

  let deploymentId = known.deploymentCommit === sha ? known.deploymentId : undefined;
  if (report.level === 'undeployed') deploymentId = known.deploymentId;
  else if (deploymentId === undefined) {
    // GitHub's auto_inactive leaves transient environments alone: the last commit's deployment
    // goes inactive here, or it would stay "active" beside the new one (a 404: someone deleted it).
    if (known.deploymentId !== undefined)
      await octokit.rest.repos
        .createDeploymentStatus({
          owner,
          repo,
          deployment_id: known.deploymentId,
          state: 'inactive',
          description: `replaced by the deployment of ${sha.slice(0, 7)}`,
        })
        .catch((e: { status?: number }) => {
          if (e.status !== 404) throw e;
        });
    const created = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: sha,
      environment: report.environment,
      description: report.deployment.description,
      transient_environment: true,
      production_environment: false,
      auto_merge: false,
      required_contexts: [],
    });
    if (!('id' in created.data))
      throw new Error(`GitHub created no deployment: ${JSON.stringify(created.data)}`);
    deploymentId = created.data.id;
    // `created/<sha>` tells a retry that this commit's deployment exists, whatever fails next.
    await save({ [DEPLOYMENT_ANNOTATION]: String(deploymentId), [REPORTED_ANNOTATION]: `created/${sha}` });
  }
  if (deploymentId !== undefined)
    await octokit.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: deploymentId,
      state: report.deployment.state,
      description: report.deployment.description,
      ...(report.deployment.environmentUrl ? { environment_url: report.deployment.environmentUrl } : {}),
      auto_inactive: true,
    });
}

/**
 * Edits the pull request's comment (`commentId`: known from this preview or a sibling), or finds
 * it by its marker, or creates it; returns its id.
 */
export async function publishComment(
  gh: RepositoryClient,
  preview: PreviewObject,
  body: string,
  commentId: number | undefined,
): Promise<number> {
  const { octokit, owner, repo } = gh;
  const number = preview.spec.pullRequest as number;
  const marker = commentMarker(`${preview.metadata.namespace}/${preview.spec.repository}`, number);
  const id = commentId ?? (await findComment(gh, number, marker));
  if (id !== undefined) {
    const edited = await octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body }).then(
      () => true,
      (e: { status?: number }) => {
        // Someone deleted the comment: write a new one.
        if (e.status === 404) return false;
        throw e;
      },
    );
    if (edited) return id;
  }
  const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body });
  return created.data.id;
}

/** Bosun's earlier comment on the pull request, found by its marker (a restart lost nothing). */
async function findComment(
  gh: RepositoryClient,
  number: number,
  marker: string,
): Promise<number | undefined> {
  const { octokit, owner, repo } = gh;
  for (let page = 1; page <= 10; page++) {
    const { data } = await octokit.rest.issues.listComments({
      owner,
      repo,
      issue_number: number,
      per_page: 100,
      page,
    });
    const mine = data.find((c) => c.body?.startsWith(marker));
    if (mine) return mine.id;
    if (data.length < 100) return undefined;
  }
  return undefined;
}
