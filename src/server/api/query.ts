// Query parameters of GET /api/v1/previews and /api/v1/events: parsed strictly (an unknown or
// malformed parameter is a 400 that says what is accepted), filtered, sorted and paged.
import { PREVIEW_PHASES } from '../../api/preview.ts';
import { badRequest } from './errors.ts';
import type { PreviewView } from './views.ts';

export interface Filters {
  namespace?: string;
  repository?: string;
  branch?: string;
  pullRequest?: number;
  phase?: string;
  q?: string;
}

export interface Page {
  limit: number;
  /** The sort key of the last item of the previous page. */
  after?: SortKey;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

type Raw = Record<string, unknown>;

function single(raw: Raw, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`query parameter "${key}" must be given once`);
  return v;
}

function rejectUnknown(raw: Raw, known: readonly string[]) {
  const unknown = Object.keys(raw).filter((k) => !known.includes(k));
  if (unknown.length)
    throw badRequest(
      `unknown query parameter ${unknown.map((k) => `"${k}"`).join(', ')}; accepted: ${known.join(', ')}`,
    );
}

const FILTER_KEYS = ['namespace', 'repository', 'branch', 'pullRequest', 'phase', 'q'] as const;

function parseFilterValues(raw: Raw): Filters {
  const f: Filters = {};
  for (const key of ['namespace', 'repository', 'branch', 'q'] as const) {
    const v = single(raw, key);
    if (v) f[key] = v;
  }
  const pr = single(raw, 'pullRequest');
  if (pr) {
    if (!/^[1-9][0-9]{0,9}$/.test(pr))
      throw badRequest(`pullRequest must be a positive integer, got "${pr}"`);
    f.pullRequest = Number(pr);
  }
  const phase = single(raw, 'phase');
  if (phase) {
    if (!(PREVIEW_PHASES as readonly string[]).includes(phase))
      throw badRequest(`phase must be one of ${PREVIEW_PHASES.join(', ')}, got "${phase}"`);
    f.phase = phase;
  }
  return f;
}

/** The query of GET /api/v1/previews. */
export function parseListQuery(raw: Raw): { filters: Filters; page: Page } {
  rejectUnknown(raw, [...FILTER_KEYS, 'limit', 'continue']);
  const filters = parseFilterValues(raw);
  const limitText = single(raw, 'limit');
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT)
      throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}, got "${limitText}"`);
  }
  const token = single(raw, 'continue');
  return { filters, page: { limit, ...(token ? { after: decodeContinue(token) } : {}) } };
}

/** The query of GET /api/v1/events: namespace and repository only. */
export function parseEventsQuery(raw: Raw): Filters {
  rejectUnknown(raw, ['namespace', 'repository']);
  return parseFilterValues(raw);
}

export function matches(v: PreviewView, f: Filters): boolean {
  if (f.namespace !== undefined && v.namespace !== f.namespace) return false;
  if (f.repository !== undefined && v.repository !== f.repository) return false;
  if (f.branch !== undefined && v.branch !== f.branch) return false;
  if (f.pullRequest !== undefined && v.pullRequest !== f.pullRequest) return false;
  if (f.phase !== undefined && v.phase !== f.phase) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    const hit = v.name.includes(q) || v.branch.toLowerCase().includes(q) || v.commit.startsWith(q);
    if (!hit) return false;
  }
  return true;
}

/** Branches before pull requests, newest first, then namespace and name: a total order. */
export type SortKey = [kind: 0 | 1, createdAt: string, namespace: string, name: string];

export const sortKey = (v: PreviewView): SortKey => [
  v.pullRequest === null ? 0 : 1,
  v.createdAt ?? '',
  v.namespace,
  v.name,
];

export function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? 1 : -1; // newest first
  if (a[2] !== b[2]) return a[2] < b[2] ? -1 : 1;
  if (a[3] !== b[3]) return a[3] < b[3] ? -1 : 1;
  return 0;
}

export const compareViews = (a: PreviewView, b: PreviewView) => compareKeys(sortKey(a), sortKey(b));

/**
 * One page of the sorted, filtered views. The continue token names the last item returned, so a
 * preview created or deleted between two pages neither repeats nor hides the others.
 */
export function paginate(
  views: PreviewView[],
  page: Page,
): { items: PreviewView[]; total: number; continue?: string } {
  const sorted = [...views].sort(compareViews);
  const after = page.after;
  const start = after ? sorted.findIndex((v) => compareKeys(sortKey(v), after) > 0) : 0;
  const rest = start < 0 ? [] : sorted.slice(start);
  const items = rest.slice(0, page.limit);
  const more = rest.length > items.length;
  return {
    items,
    total: sorted.length,
    ...(more ? { continue: encodeContinue(sortKey(items[items.length - 1] as PreviewView)) } : {}),
  };
}

export const encodeContinue = (key: SortKey) => Buffer.from(JSON.stringify(key)).toString('base64url');

export function decodeContinue(token: string): SortKey {
  const bad = () =>
    badRequest('continue must be a token returned by a previous page (start again without it)');
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(key) ||
    key.length !== 4 ||
    (key[0] !== 0 && key[0] !== 1) ||
    !key.slice(1).every((k) => typeof k === 'string')
  )
    throw bad();
  return key as SortKey;
}
