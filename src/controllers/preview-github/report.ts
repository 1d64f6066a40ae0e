// What GitHub should show for a preview (pure): the commit status, the deployment status and the
// pull-request comment. Reports change only when the preview's level or commit changes, so a
// settled preview costs no GitHub call; the level last reported is remembered in an annotation.
import type { PreviewObject } from '../preview/model.ts';

export const REPORTED_ANNOTATION = 'bosun.dev/github-reported';
export const COMMENT_ANNOTATION = 'bosun.dev/github-comment-id';
export const DEPLOYMENT_ANNOTATION = 'bosun.dev/github-deployment-id';
export const STATUS_CONTEXT = 'bosun/preview';

export type Level =
  | 'pending'
  | 'building'
  | 'initializing'
  | 'stopped'
  | 'running'
  | 'failed'
  | 'error'
  | 'undeployed';

export type CommitState = 'pending' | 'success' | 'failure' | 'error';
export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface Report {
  level: Level;
  /** `<level>/<commit>`: what the annotation holds once everything below was sent. */
  key: string;
  /** Absent once undeployed: the last status of the commit stays. */
  status?: { state: CommitState; description: string; targetUrl?: string };
  deployment: { state: DeploymentState; description: string; environmentUrl?: string };
  environment: string;
  /** For pull-request previews. */
  comment?: string;
}

/** Ready reasons that are a setup problem (the user's to fix), not a failed build or init. */
const SETUP_PROBLEMS = new Set([
  'RepositoryNotFound',
  'TemplateNotFound',
  'InvalidTemplate',
  'ApplyRejected',
]);

export function levelOf(preview: PreviewObject, gone = false): Level {
  if (gone || preview.metadata.deletionTimestamp) return 'undeployed';
  const ready = preview.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready && SETUP_PROBLEMS.has(ready.reason)) return 'error';
  switch (preview.status?.phase) {
    case 'Building':
      return 'building';
    case 'Initializing':
      return 'initializing';
    case 'Stopped':
    case 'Stopping':
    case 'Starting':
      return 'stopped';
    case 'Running':
      return 'running';
    case 'Failed':
      return 'failed';
    case 'Undeploying':
      return 'undeployed';
    default:
      return 'pending';
  }
}

const WORDS: Record<Level, { status?: CommitState; deployment: DeploymentState; text: string }> = {
  pending: { status: 'pending', deployment: 'queued', text: 'waiting for a deploy slot' },
  building: { status: 'pending', deployment: 'in_progress', text: 'building' },
  initializing: { status: 'pending', deployment: 'in_progress', text: 'initializing' },
  stopped: { status: 'success', deployment: 'success', text: 'deployed, stopped (start it from Bosun)' },
  running: { status: 'success', deployment: 'success', text: 'running' },
  failed: { status: 'failure', deployment: 'failure', text: 'failed' },
  error: { status: 'error', deployment: 'error', text: 'cannot be deployed' },
  undeployed: { deployment: 'inactive', text: 'undeployed' },
};

/**
 * Bosun's web UI (at `publicUrl`, `--public-url`) filtered to one repository ("namespace/name"),
 * and optionally a pull request: what links from GitHub open.
 */
export const uiLink = (publicUrl: string, repository: string, pullRequest?: number) =>
  `${publicUrl}/?${new URLSearchParams({
    repository,
    ...(pullRequest !== undefined ? { pullRequest: String(pullRequest) } : {}),
  })}`;

/** GitHub caps descriptions at 140 characters. */
const clip = (s: string) => (s.length > 140 ? `${s.slice(0, 139)}…` : s);

/**
 * A state that lasts one pass and is not worth a GitHub request: the app's resources being created
 * (Pending, Deploying) between a build or the admission and Stopped.
 */
export const isFleeting = (preview: PreviewObject) =>
  preview.status?.conditions?.find((c) => c.type === 'Ready')?.reason === 'Deploying';

/** `publicUrl`: where users reach Bosun's web UI (`--public-url`); the comment links to it. */
export function desiredReport(preview: PreviewObject, gone = false, publicUrl?: string): Report {
  const level = levelOf(preview, gone);
  const words = WORDS[level];
  const name = preview.metadata.name as string;
  const sha7 = preview.spec.commit.slice(0, 7);
  const ready = preview.status?.conditions?.find((c) => c.type === 'Ready');
  const detail = (level === 'failed' || level === 'error') && ready?.message ? `: ${ready.message}` : '';
  const description = clip(`Preview ${name} ${words.text}${detail}`);
  const url = level === 'undeployed' ? undefined : preview.status?.url || undefined;
  return {
    level,
    key: `${level}/${preview.spec.commit}`,
    ...(words.status ? { status: { state: words.status, description, targetUrl: url } } : {}),
    deployment: { state: words.deployment, description, environmentUrl: url },
    environment: `preview/${name}`,
    ...(preview.spec.pullRequest !== undefined
      ? { comment: commentBody(preview, level, sha7, url, detail, publicUrl) }
      : {}),
  };
}

/**
 * Text shown as it is, never as markdown: a failure's message may quote what the pull request's
 * author chose (its branch, in the API server's rejection of a rendered manifest). The fence is
 * longer than any run of backticks in the text, so the text cannot close it.
 */
export function verbatim(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** The hidden first line that finds Bosun's comment among a pull request's comments. */
export const commentMarker = (repository: string, pullRequest: number) =>
  `<!-- bosun-preview ${repository}#${pullRequest} -->`;

function commentBody(
  preview: PreviewObject,
  level: Level,
  sha7: string,
  url: string | undefined,
  detail: string,
  publicUrl: string | undefined,
) {
  const name = preview.metadata.name as string;
  const where = url && level !== 'undeployed' ? ` at ${url}` : '';
  const repository = `${preview.metadata.namespace}/${preview.spec.repository}`;
  const manage =
    publicUrl && level !== 'undeployed'
      ? `\n\n[Start, stop, reset and logs in Bosun](${uiLink(publicUrl, repository, preview.spec.pullRequest)})`
      : '';
  return [
    commentMarker(repository, preview.spec.pullRequest as number),
    `**Bosun preview** \`${name}\` of ${sha7}: **${WORDS[level].text}**${where}${detail ? `\n\n${verbatim(detail.slice(2))}` : ''}${manage}`,
    '',
    '<sub>Bosun edits this comment as the preview changes.</sub>',
  ].join('\n');
}
