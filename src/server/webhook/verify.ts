// Which PreviewRepositories a delivery is for: those naming the payload's repository
// (case-insensitive) whose webhook secret verifies the X-Hub-Signature-256 of the raw body. A
// repository without a webhookSecretRef never accepts a delivery: unsigned payloads are refused.
import { verify } from '@octokit/webhooks-methods';
import type { Logger } from 'pino';
import type { RepositoryObject } from '../../controllers/preview/model.ts';
import type { SecretReader } from '../../github/secrets.ts';

export type Verdict =
  | { ok: true; repositories: RepositoryObject[] }
  | { ok: false; code: 401 | 404; reason: string; message: string };

export function candidates(all: RepositoryObject[], fullName: string): RepositoryObject[] {
  const want = fullName.toLowerCase();
  return all.filter((r) => r.spec.repository.toLowerCase() === want);
}

export async function verifyDelivery(
  secrets: SecretReader,
  repositories: RepositoryObject[],
  fullName: string,
  body: string,
  signature: string,
  log: Logger,
): Promise<Verdict> {
  if (!repositories.length)
    return {
      ok: false,
      code: 404,
      reason: 'RepositoryNotFound',
      message: `no PreviewRepository has spec.repository ${fullName}`,
    };
  const verified: RepositoryObject[] = [];
  for (const repo of repositories) {
    const ref = repo.spec.webhookSecretRef;
    const where = `${repo.metadata.namespace}/${repo.metadata.name}`;
    if (!ref) {
      log.warn(
        { repository: where },
        'PreviewRepository has no webhookSecretRef; its deliveries are refused',
      );
      continue;
    }
    const namespace = repo.metadata.namespace as string;
    const check = async (fresh: boolean) =>
      verify(await secrets.read(namespace, ref, { fresh }), body, signature).catch(() => false);
    try {
      // A value cached before the Secret was rotated gets one fresh read.
      if ((await check(false)) || (await check(true))) verified.push(repo);
    } catch (e) {
      log.warn({ repository: where, err: e }, 'cannot read the webhook secret');
    }
  }
  if (!verified.length)
    return {
      ok: false,
      code: 401,
      reason: 'BadSignature',
      message: `X-Hub-Signature-256 does not match the webhook secret of any PreviewRepository for ${fullName}`,
    };
  return { ok: true, repositories: verified };
}
