// What every `bosun preview` command shares: the client and namespace, and errors that read well.
import { PREVIEWS, type PreviewObject } from '../controllers/preview/model.ts';
import { ApiError, isNotFound, KubeClient } from '../runtime/kube-client.ts';
import type { Common } from './preview-args.ts';

/** A failure to report as is (exit 1): not found, being undeployed, timed out. */
export class CommandError extends Error {}

export interface Context {
  client: KubeClient;
  namespace: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

export function makeContext(args: Common): Context {
  const client = KubeClient.fromKubeconfig(args.kubeconfig);
  const namespace = args.namespace ?? client.namespace ?? 'default';
  return {
    client,
    namespace,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
}

export async function getPreview(ctx: Context, name: string): Promise<PreviewObject> {
  try {
    return await ctx.client.get<PreviewObject>(PREVIEWS, ctx.namespace, name);
  } catch (e) {
    if (isNotFound(e))
      throw new CommandError(
        `preview ${name} not found in namespace ${ctx.namespace} (bosun preview list -n ${ctx.namespace} shows the previews)`,
      );
    throw e;
  }
}

/** An API error in a person's words: what was refused and why, one line per field. */
export function explainApiError(e: ApiError, what: string): string {
  const causes = (e.details as { causes?: { field?: string; message?: string }[] } | undefined)?.causes ?? [];
  const lines = causes.map((c) => `  - ${c.field ? `${c.field}: ` : ''}${c.message}`);
  switch (e.code) {
    case 422:
      return `the API server rejected ${what}:\n${lines.length ? lines.join('\n') : `  ${e.message}`}`;
    case 401:
    case 403:
      return `not allowed to ${what}: ${e.message}\n  (check the kubeconfig's user and its RBAC permissions)`;
    case 404:
      return `${what}: ${e.message} (are the Bosun CRDs installed? bosun crds | kubectl apply -f -)`;
    default:
      return `${what}: ${e.message} (HTTP ${e.code} ${e.reason})`;
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;

/** The Ready condition's reason and message, the status line a person wants to see. */
export function readyLine(p: PreviewObject): string {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
  const phase = p.metadata.deletionTimestamp ? 'Undeploying' : (p.status?.phase ?? 'Pending');
  return ready ? `${phase} (${ready.reason}: ${ready.message})` : phase;
}
