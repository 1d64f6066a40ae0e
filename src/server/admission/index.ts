// Wires the BeforeRollout gate into `bosun run`: the serving certificate, the TLS listener (on
// every replica) and the webhook configuration's controller (on the leader).
import { resourceOf } from '../../api/crd.ts';
import { DeploymentHookKind } from '../../api/deploymenthook.ts';
import { workloadInformer } from '../../controllers/deploymenthook/controller.ts';
import { deploymentLookup } from '../../controllers/deploymenthook/deployment-lookup.ts';
import type { HookObject } from '../../controllers/deploymenthook/plan.ts';
import { isNotFound, type KubeObject, type ResourceRef, Resources } from '../../runtime/kube-client.ts';
import type { Manager } from '../../runtime/manager.ts';
import { ensureServingCert, type ServingCert } from '../../runtime/serving-cert.ts';
import { startAdmissionServer } from './server.ts';
import { type ClientConfig, setupWebhookConfigController } from './webhook-config.ts';

export interface AdmissionFlags {
  address: string;
  /** `url` for a local control plane, else the in-cluster Service. */
  clientConfig: ClientConfig;
  secret: { namespace: string; name: string };
  webhookName: string;
}

const RENEW_CHECK_MS = 12 * 3_600_000;

/** The names the serving certificate must cover for the API server to reach it. */
export function certificateHosts(c: ClientConfig): string[] {
  if ('url' in c) return [new URL(c.url).hostname.replace(/^\[|\]$/g, '')];
  const { name, namespace } = c.service;
  return [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

export async function startAdmission(manager: Manager, flags: AdmissionFlags, hookOptInLabel?: string) {
  const { client } = manager;
  const log = manager.log.child({ component: 'admission' });
  const hosts = certificateHosts(flags.clientConfig);
  let cert: ServingCert = await ensureServingCert(client, log, flags.secret, hosts);
  const hooks = manager.informer<HookObject>(resourceOf(DeploymentHookKind));
  const deployments = workloadInformer(manager, 'Deployment', hookOptInLabel);
  const read = async (ref: ResourceRef, namespace: string, name: string) => {
    try {
      return await client.get<KubeObject>(ref, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const refresh = async () => {
    const next = await ensureServingCert(client, log, flags.secret, hosts);
    if (next.certPem !== cert.certPem) server.setCertificate(next);
    cert = next;
  };
  const server = await startAdmissionServer({
    address: flags.address,
    cert,
    log,
    registry: manager.metrics.registry,
    lookups: {
      synced: () => [hooks, deployments].every((i) => i.caches.every((c) => c.hasSynced)),
      hooks: (ns) => hooks.listNamespace(ns),
      deployment: deploymentLookup(deployments, client, hookOptInLabel),
      replicaSet: (ns, name) => read(Resources.replicaSets, ns, name),
    },
  });
  setupWebhookConfigController(manager, {
    name: flags.webhookName,
    clientConfig: flags.clientConfig,
    // Read from the Secret at each write and resync: another replica may have issued a new CA.
    caBundle: async () => {
      await refresh();
      return cert.managed ? Buffer.from(cert.caBundlePem).toString('base64') : undefined;
    },
    excluded: ['kube-system', flags.secret.namespace],
  });
  const renew = setInterval(() => {
    refresh().catch((e) => log.warn({ err: e }, 'could not check the webhook serving certificate'));
  }, RENEW_CHECK_MS);
  renew.unref();
  return {
    stop() {
      clearInterval(renew);
      return server.stop();
    },
  };
}
