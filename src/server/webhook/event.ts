// GitHub webhook payloads reduced to what previews need. A payload without the fields its event
// must have is the sender's mistake (400), never a crash.
export type GitHubEvent =
  | { kind: 'ping'; repository: string }
  | { kind: 'push'; repository: string; ref: string; commit: string; deleted: boolean }
  | {
      kind: 'pull_request';
      repository: string;
      action: string;
      number: number;
      headRef: string;
      headSha: string;
      baseRef: string;
      /** `owner/name` the head branch lives in; null when that fork was deleted. */
      headRepository: string | null;
      /** `pull_request.updated_at`: orders two events of one pull request. */
      updatedAt: string;
    }
  | { kind: 'delete'; repository: string; refType: string; ref: string }
  | { kind: 'other'; name: string; repository: string };

/** Thrown for a payload that lacks a field its event needs; the route answers 400 with it. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

const ZERO_SHA = /^0+$/;
const SHA = /^[0-9a-f]{7,64}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function field(payload: Json, path: string): unknown {
  let at: unknown = payload;
  for (const key of path.split('.')) at = isObject(at) ? at[key] : undefined;
  return at;
}

function text(payload: Json, path: string): string {
  const v = field(payload, path);
  if (typeof v !== 'string' || v === '') throw new PayloadError(`payload has no ${path} (a string)`);
  return v;
}

function sha(payload: Json, path: string): string {
  const v = text(payload, path).toLowerCase();
  if (!SHA.test(v)) throw new PayloadError(`${path} is not a commit SHA: "${v.slice(0, 80)}"`);
  return v;
}

/** `owner/name` of the repository the payload is about. */
export function repositoryOf(payload: unknown): string {
  if (!isObject(payload)) throw new PayloadError('payload is not a JSON object');
  return text(payload, 'repository.full_name');
}

/** Reads the fields of one event; throws PayloadError when one is missing or malformed. */
export function parseEvent(name: string, payload: unknown): GitHubEvent {
  const repository = repositoryOf(payload);
  const p = payload as Json;
  switch (name) {
    case 'ping':
      return { kind: 'ping', repository };
    case 'push': {
      const after = text(p, 'after');
      const deleted = field(p, 'deleted') === true || ZERO_SHA.test(after);
      return {
        kind: 'push',
        repository,
        ref: text(p, 'ref'),
        commit: deleted ? after : sha(p, 'after'),
        deleted,
      };
    }
    case 'pull_request': {
      const number = field(p, 'number') ?? field(p, 'pull_request.number');
      if (!Number.isInteger(number) || (number as number) < 1)
        throw new PayloadError('payload has no pull request number');
      return {
        kind: 'pull_request',
        repository,
        action: text(p, 'action'),
        number: number as number,
        headRef: text(p, 'pull_request.head.ref'),
        headSha: sha(p, 'pull_request.head.sha'),
        baseRef: text(p, 'pull_request.base.ref'),
        // GitHub sends `head.repo: null` once the fork a pull request came from is deleted.
        headRepository:
          field(p, 'pull_request.head.repo') === null ? null : text(p, 'pull_request.head.repo.full_name'),
        updatedAt: text(p, 'pull_request.updated_at'),
      };
    }
    case 'delete':
      return { kind: 'delete', repository, refType: text(p, 'ref_type'), ref: text(p, 'ref') };
    default:
      return { kind: 'other', name, repository };
  }
}

/** The pull request's head lives in another repository (or in a deleted one): its code is a stranger's. */
export const fromFork = (e: { repository: string; headRepository: string | null }) =>
  e.headRepository === null || e.headRepository.toLowerCase() !== e.repository.toLowerCase();
