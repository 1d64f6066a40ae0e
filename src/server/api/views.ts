// PreviewView: what the API and the UI show of a Preview, flat and with explicit nulls.
import type { PreviewObject, RepositoryObject } from '../../controllers/preview/model.ts';

export interface ReadyView {
  status: string;
  reason: string | null;
  message: string | null;
}

export interface PreviewView {
  namespace: string;
  name: string;
  repository: string;
  forgeRepository: string | null;
  branch: string;
  targetBranch: string | null;
  pullRequest: number | null;
  commit: string;
  state: 'Running' | 'Stopped';
  phase: string;
  initStatus: string | null;
  buildStatus: string | null;
  url: string | null;
  createdAt: string | null;
  lastScaled: string | null;
  ready: ReadyView | null;
  links: { commit: string | null; pullRequest: string | null };
}

const FORGE_BASE: Record<string, string> = { github: 'https://github.com' };

/** Links to a commit and a pull request of a repository on its forge, where it is known. */
export function forgeLinks(
  repository: RepositoryObject | undefined,
  commit: string,
  pullRequest: number | null,
) {
  const forgeRepository = repository?.spec.repository;
  const base = FORGE_BASE[repository?.spec.forge ?? 'github'];
  const at = forgeRepository && base ? `${base}/${forgeRepository}` : undefined;
  return {
    commit: at ? `${at}/commit/${commit}` : null,
    pullRequest: at && pullRequest !== null ? `${at}/pull/${pullRequest}` : null,
  };
}

/** The view of a preview; `repository` (the PreviewRepository it names) adds the forge links. */
export function previewView(p: PreviewObject, repository?: RepositoryObject): PreviewView {
  const spec = p.spec;
  const status = p.status ?? {};
  const forgeRepository = repository?.spec.repository ?? null;
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const pullRequest = spec.pullRequest ?? null;
  return {
    namespace: p.metadata.namespace ?? '',
    name: p.metadata.name ?? '',
    repository: spec.repository,
    forgeRepository,
    branch: spec.branch,
    targetBranch: spec.targetBranch ?? null,
    pullRequest,
    commit: spec.commit,
    state: spec.state === 'Running' ? 'Running' : 'Stopped',
    phase: p.metadata.deletionTimestamp ? (status.phase ?? 'Undeploying') : (status.phase ?? 'Pending'),
    initStatus: status.initStatus ?? null,
    buildStatus: status.buildStatus ?? null,
    url: status.url ?? null,
    createdAt: p.metadata.creationTimestamp ?? null,
    lastScaled: status.lastScaled ?? null,
    ready: ready
      ? { status: ready.status, reason: ready.reason ?? null, message: ready.message ?? null }
      : null,
    links: forgeLinks(repository, spec.commit, pullRequest),
  };
}
