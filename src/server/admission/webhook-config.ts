// The MutatingWebhookConfiguration that sends new pods to the gate, kept by the leader. Its scope
// is as small as the API allows: only pod CREATEs, only pods with a pod-template-hash label
// (objectSelector) controlled by a ReplicaSet (matchConditions), only in namespaces that hold a
// BeforeRollout hook (namespaceSelector, rewritten as hooks come and go), never in kube-system or
// the operator's own namespace (it must be able to restart itself). failurePolicy is Fail: a pod
// the gate cannot judge is refused and retried by its ReplicaSet, never started unchecked.
import { resourceOf } from '../../api/crd.ts';
import { DeploymentHookKind } from '../../api/deploymenthook.ts';
import { isBeforeRollout } from '../../controllers/deploymenthook/gate.ts';
import type { HookObject } from '../../controllers/deploymenthook/plan.ts';
import { Controller } from '../../runtime/controller.ts';
import { isNotFound, type KubeObject } from '../../runtime/kube-client.ts';
import type { Manager } from '../../runtime/manager.ts';
import { WEBHOOK_PATH } from './server.ts';

export const WEBHOOK_CONFIGURATIONS = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'mutatingwebhookconfigurations',
  namespaced: false,
} as const;
export const WEBHOOK_NAME = 'before-rollout.bosun.dev';
/** Seconds the API server waits for an answer; answers come from caches in milliseconds. */
export const WEBHOOK_TIMEOUT_SECONDS = 5;
const RESYNC_MS = 60_000;

export type ClientConfig = { url: string } | { service: { namespace: string; name: string; port?: number } };

/** Namespaces the webhook covers: those holding a BeforeRollout hook, less the excluded ones. */
export function gatedNamespaces(hooks: HookObject[], excluded: string[]): string[] {
  const names = hooks.filter(isBeforeRollout).map((h) => h.metadata.namespace as string);
  return [...new Set(names)].filter((n) => !excluded.includes(n)).sort();
}

/** A URL without a path gets the webhook's. */
const withPath = (url: string) => {
  const u = new URL(url);
  if (u.pathname === '/') u.pathname = WEBHOOK_PATH;
  return u.toString();
};

export function webhookConfiguration(opts: {
  name: string;
  clientConfig: ClientConfig;
  caBundle?: string;
  namespaces: string[];
}): KubeObject {
  const base =
    'url' in opts.clientConfig
      ? { url: withPath(opts.clientConfig.url) }
      : { service: { port: 443, ...opts.clientConfig.service, path: WEBHOOK_PATH } };
  const nameKey = 'kubernetes.io/metadata.name';
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: opts.name, labels: { 'app.kubernetes.io/name': 'bosun' } },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        clientConfig: { ...base, ...(opts.caBundle ? { caBundle: opts.caBundle } : {}) },
        rules: [
          {
            operations: ['CREATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['pods'],
            scope: 'Namespaced',
          },
        ],
        // No namespace lacks this label, so an empty list covers none.
        namespaceSelector: opts.namespaces.length
          ? { matchExpressions: [{ key: nameKey, operator: 'In', values: opts.namespaces }] }
          : { matchExpressions: [{ key: nameKey, operator: 'DoesNotExist' }] },
        objectSelector: { matchExpressions: [{ key: 'pod-template-hash', operator: 'Exists' }] },
        matchConditions: [
          {
            name: 'controlled-by-a-replicaset',
            expression:
              "has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, r.kind == 'ReplicaSet' && has(r.controller) && r.controller)",
          },
        ],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
        admissionReviewVersions: ['v1'],
        reinvocationPolicy: 'Never',
      },
    ],
  };
}

/** Whether `live` holds every field of `want` (the API server adds defaults such as matchPolicy). */
export function holds(live: unknown, want: unknown): boolean {
  if (Array.isArray(want))
    return Array.isArray(live) && live.length === want.length && want.every((w, i) => holds(live[i], w));
  if (want && typeof want === 'object')
    return (
      !!live &&
      typeof live === 'object' &&
      Object.entries(want).every(([k, v]) => holds((live as Record<string, unknown>)[k], v))
    );
  return live === want;
}

/** Keeps the configuration's scope in step with the BeforeRollout hooks (leader only). */
export function setupWebhookConfigController(
  mgr: Manager,
  opts: {
    name: string;
    clientConfig: ClientConfig;
    caBundle: () => Promise<string | undefined>;
    excluded: string[];
  },
): Controller {
  const hooks = mgr.informer<HookObject>(resourceOf(DeploymentHookKind));
  const KEY = 'webhook';
  const controller = new Controller({
    name: 'admission-webhook',
    workers: 1,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile: async (ctx) => {
      const caBundle = await opts.caBundle();
      const desired = webhookConfiguration({
        name: opts.name,
        clientConfig: opts.clientConfig,
        ...(caBundle ? { caBundle } : {}),
        namespaces: gatedNamespaces(hooks.list(), opts.excluded),
      });
      let live: KubeObject | undefined;
      try {
        live = await mgr.client.get(WEBHOOK_CONFIGURATIONS, undefined, opts.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      // Without a bundle of ours (cert-manager's Secret), the one cainjector wrote is neither compared nor applied.
      if (!holds(live?.webhooks, desired.webhooks)) {
        await mgr.client.apply(WEBHOOK_CONFIGURATIONS, desired);
        ctx.log.info(
          { webhook: opts.name, namespaces: gatedNamespaces(hooks.list(), opts.excluded) },
          'webhook configuration written',
        );
      }
      return { requeueAfterMs: RESYNC_MS }; // repairs a configuration changed by hand or by helm upgrade
    },
  });
  controller.watch(hooks, () => [KEY]);
  controller.queue.add(KEY); // written at start even with no hook yet
  mgr.add(controller);
  return controller;
}
