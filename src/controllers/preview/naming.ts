// Names of previews and their children, and the host label: readable, deterministic, within
// Kubernetes' 63-character limits (truncated with a hash of the whole when too long); and the one
// create every front door uses, which keeps two sources from sharing a name.
import { boundedName, shortHash } from '../../api/names.ts';
import type { PreviewSpec } from '../../api/preview.ts';
import { ApiError, isNotFound, type KubeClient } from '../../runtime/kube-client.ts';
import { PREVIEWS, type PreviewObject, type RepositoryObject } from './model.ts';

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

/**
 * The name of a preview whose own name a preview of another source holds (branches that slug
 * alike, as `release/1.0` and `release-1.0`, at one commit): a hash of its source appended.
 */
export const alternateName = (preview: PreviewObject) =>
  boundedName([
    preview.metadata.name as string,
    shortHash(`${preview.spec.pullRequest ?? ''}:${preview.spec.branch}`, 6),
  ]);

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

/**
 * Of the same source: the same repository and pull request, or the same branch when neither is one
 * (a pull request's head branch is its own; the name holds the rest).
 */
export const sameSource = (a: PreviewObject, b: PreviewObject) =>
  a.spec.repository === b.spec.repository &&
  a.spec.pullRequest === b.spec.pullRequest &&
  (a.spec.pullRequest !== undefined || a.spec.branch === b.spec.branch);

const live = (p: PreviewObject | undefined, of: PreviewObject): p is PreviewObject =>
  !!p && !p.metadata.deletionTimestamp && sameSource(p, of);

/**
 * Where a preview of this source lives: under its own name, unless a preview of another source
 * holds that name or one is being undeployed under it (a pull request reopened, a branch restored,
 * while the old preview's cleanup runs); then under its alternate name. A live preview of the
 * source under the alternate name stays there, so the source never has two. `existing` is that
 * live preview, if any.
 */
export async function previewHome(
  client: KubeClient,
  preview: PreviewObject,
): Promise<{ name: string; existing?: PreviewObject }> {
  const own = preview.metadata.name as string;
  const alternate = alternateName(preview);
  const read = (name: string) =>
    client.get<PreviewObject>(PREVIEWS, preview.metadata.namespace, name).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
  const [atOwn, atAlternate] = await Promise.all([read(own), read(alternate)]);
  if (live(atAlternate, preview)) return { name: alternate, existing: atAlternate };
  if (!atOwn || live(atOwn, preview)) return { name: own, existing: atOwn };
  if (!atAlternate) return { name: alternate };
  throw new ApiError(
    409,
    'Conflict',
    `previews ${own} and ${alternate} are both taken, by another source or by one being undeployed: try again once it is gone`,
  );
}

/**
 * Creates a preview made by newPreview under its home (previewHome), or finds the live one of its
 * source, so no source goes without its preview and none has two.
 */
export async function createPreview(
  client: KubeClient,
  preview: PreviewObject,
): Promise<{ object: PreviewObject; created: boolean }> {
  const home = await previewHome(client, preview);
  if (home.existing) return { object: home.existing, created: false };
  const found = await client.createIfAbsent(PREVIEWS, {
    ...preview,
    metadata: { ...preview.metadata, name: home.name },
  });
  if (found.created || live(found.object, preview)) return found;
  throw new ApiError(409, 'Conflict', `preview ${home.name} was taken meanwhile: try again`);
}

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
