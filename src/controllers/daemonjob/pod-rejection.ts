// Which errors creating a per-node pod say the template itself is wrong, so that retrying cannot help.
import { ApiError } from '../../runtime/kube-client.ts';

/**
 * The message of a rejection of the pod template: validation (422), a malformed object (400), or
 * Pod Security admission (403 "violates PodSecurity"). Another 403 (RBAC, a webhook's denial that
 * may change) and every other error is retried.
 */
export function templateRejection(e: unknown): string | undefined {
  if (!(e instanceof ApiError)) return undefined;
  const rejected =
    e.code === 422 || e.code === 400 || (e.code === 403 && /violates PodSecurity/.test(e.message));
  return rejected ? e.message : undefined;
}
