// The few GitHub requests of the login: the code exchange on the web host, the user, a repository
// permission and the token's revocation on the REST API. Plain fetch: no retries, short timeouts
// (a person is waiting on each).
// biome-ignore lint/suspicious/noExplicitAny: GitHub's answers are plain JSON
type Json = any;

export interface GitHubAnswer {
  status: number;
  body: Json;
}

export interface GitHubCall {
  token?: string;
  basic?: { user: string; password: string };
  body?: unknown;
}

export class GitHubUnavailable extends Error {}

export async function callGitHub(method: string, url: string, call: GitHubCall = {}): Promise<GitHubAnswer> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': 'bosun',
    'x-github-api-version': '2022-11-28',
  };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.basic)
    headers.authorization = `Basic ${Buffer.from(`${call.basic.user}:${call.basic.password}`).toString('base64')}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    throw new GitHubUnavailable(
      `GitHub did not answer ${method} ${new URL(url).pathname}: ${(e as Error).message}`,
    );
  }
  const text = await res.text();
  let body: Json;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

export type Permission = 'operate' | 'read' | 'none';

/**
 * What a collaborator permission answer grants: admin, maintain and write operate; triage and read
 * read. `role_name` names maintain and triage, which `permission` folds into write and read.
 */
export function permissionOf(answer: { permission?: string; role_name?: string }): Permission {
  const role = answer.role_name ?? answer.permission ?? 'none';
  if (['admin', 'maintain', 'write', 'push'].includes(role)) return 'operate';
  if (['triage', 'read', 'pull'].includes(role)) return 'read';
  // A custom role: its base permission is what `permission` says.
  if (answer.permission === 'admin' || answer.permission === 'write') return 'operate';
  if (answer.permission === 'read') return 'read';
  return 'none';
}
