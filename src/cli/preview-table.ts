// `bosun preview list`: filtering, runboat's order and the table a person reads.
import { approveCommand, type Waiting } from '../controllers/preview/approvals.ts';
import type { PreviewObject } from '../controllers/preview/model.ts';
import { shortCommit } from '../controllers/preview/naming.ts';

export interface ListFilter {
  repository?: string;
  /** The preview's branch (for a pull request: its head branch). */
  branch?: string;
  pullRequest?: number;
  phase?: string;
}

export function filterPreviews(previews: PreviewObject[], f: ListFilter): PreviewObject[] {
  return previews.filter(
    (p) =>
      (f.repository === undefined || p.spec.repository === f.repository) &&
      (f.branch === undefined || p.spec.branch === f.branch) &&
      (f.pullRequest === undefined || p.spec.pullRequest === f.pullRequest) &&
      (f.phase === undefined || p.status?.phase === f.phase),
  );
}

/** runboat's default order: by repository, branches before pull requests, newest first. */
export function sortPreviews(previews: PreviewObject[]): PreviewObject[] {
  const created = (p: PreviewObject) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;
  return [...previews].sort(
    (a, b) =>
      a.spec.repository.localeCompare(b.spec.repository) ||
      Number(a.spec.pullRequest !== undefined) - Number(b.spec.pullRequest !== undefined) ||
      created(b) - created(a) ||
      (a.metadata.name as string).localeCompare(b.metadata.name as string),
  );
}

/** kubectl's style: 45s, 12m, 5h, 3d. */
export function age(from: string | undefined, now: Date): string {
  const ms = now.getTime() - Date.parse(from ?? '');
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** "main", or "#12 feature → main" for a pull request. */
export function source(p: PreviewObject): string {
  return p.spec.pullRequest === undefined
    ? p.spec.branch
    : `#${p.spec.pullRequest} ${p.spec.branch} → ${p.spec.targetBranch ?? '?'}`;
}

const HEADERS = ['NAME', 'REPOSITORY', 'BRANCH/PR', 'COMMIT', 'STATE', 'PHASE', 'INIT', 'URL', 'AGE'];

export function previewRows(previews: PreviewObject[], now: Date): string[][] {
  return previews.map((p) => [
    p.metadata.name as string,
    p.spec.repository,
    source(p),
    shortCommit(p.spec.commit),
    p.spec.state ?? 'Stopped',
    p.metadata.deletionTimestamp ? 'Undeploying' : (p.status?.phase ?? '-'),
    p.status?.initStatus ?? '-',
    p.status?.url ?? '-',
    age(p.metadata.creationTimestamp, now),
  ]);
}

/** Columns padded to their widest cell (by code points, so → counts as one). */
export function formatTable(rows: string[][], headers = HEADERS): string {
  const all = [headers, ...rows];
  const width = (s: string) => [...s].length;
  const widths = headers.map((_, i) => Math.max(...all.map((r) => width(r[i] ?? ''))));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell))))
        .join('   ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** The pull requests from forks that wait for approval, each with the command that approves it. */
export function waitingText(waiting: Waiting[], namespace: string, now: Date): string {
  const lines = waiting.flatMap(({ repository, pullRequest: f }) => [
    `  ${repository.metadata.name} #${f.number} ${f.branch} → ${f.targetBranch} from ${f.fork || 'a deleted fork'}, commit ${shortCommit(f.commit)}, ${age(f.updatedAt, now)} ago`,
    `    ${approveCommand(namespace, repository.metadata.name as string, f)}`,
  ]);
  return `Waiting for approval: pull requests from forks, whose code runs in the cluster once approved\n${lines.join('\n')}\n`;
}
