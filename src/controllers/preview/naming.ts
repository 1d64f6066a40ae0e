// Names of previews and their children, and the host label: readable, deterministic, within
// Kubernetes' 63-character limits (truncated with a hash of the whole when too long).
import { boundedName } from '../../api/names.ts';
import type { PreviewSpec } from '../../api/preview.ts';
import type { PreviewObject, RepositoryObject } from './model.ts';

/** Lower case, every run of characters outside [a-z0-9] becomes one '-'. */
export const slugify = (value: string) =>
  value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

export const shortCommit = (commit: string) => commit.slice(0, 7);

export interface PreviewSource {
  branch: string;
  pullRequest?: number;
  commit: string;
}

/**
 * The name a webhook, the API or `bosun preview create` gives a preview:
 * `<repository object>-<branch>-<sha7>` per commit, `<repository object>-pr<N>` per pull request
 * (rebuilt in place), or `<repository object>-pr<N>-<sha7>` for a pull request's commit.
 */
export function previewName(
  repositoryObject: string,
  source: PreviewSource,
  perPullRequest: boolean,
): string {
  const where = source.pullRequest !== undefined ? `pr${source.pullRequest}` : slugify(source.branch);
  const commit = perPullRequest && source.pullRequest !== undefined ? [] : [shortCommit(source.commit)];
  return dnsLabel([repositoryObject, where, ...commit].join('-'));
}

/** The host label of a preview: its name, made a DNS label (≤ 63, starting with a letter). */
export const previewSlug = (previewObjectName: string) => dnsLabel(previewObjectName);

function dnsLabel(value: string): string {
  const slug = slugify(value);
  return boundedName([/^[a-z]/.test(slug) ? slug : `p-${slug}`], 63);
}

/** A child's name: `<preview>-<role>[-<suffix>]`, bounded. */
export const childName = (preview: string, ...parts: string[]) => boundedName([preview, ...parts], 63);

/** `*` matches any run of characters (slashes included); everything else literally. */
export function branchMatches(pattern: string, branch: string): boolean {
  let re = patterns.get(pattern);
  if (!re) {
    if (patterns.size >= 1024) patterns.clear();
    re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    patterns.set(pattern, re);
  }
  return re.test(branch);
}
/** Compiled patterns: the same few are matched on every pass. Bounded, as patterns come from specs. */
const patterns = new Map<string, RegExp>();

const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** A new Preview of `repository`, named the way every front door (webhook, API, CLI) names it. */
export function newPreview(
  repository: RepositoryObject,
  spec: PreviewSpec,
  annotations?: Record<string, string>,
): PreviewObject {
  const perPullRequest = repository.spec.previewPer === 'PullRequest';
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'Preview',
    metadata: {
      name: previewName(repository.metadata.name as string, spec, perPullRequest),
      namespace: repository.metadata.namespace,
      ...(annotations ? { annotations } : {}),
    },
    spec,
  };
}
