// Acts on one preview's plan: finalizer, status (the decision is recorded before anything is
// created), spec.state for a capacity stop, deletion for a capacity undeploy, Jobs, the app's
// resources and scaling. The purge that ends an undeploy is purge.ts. What the API server rejects
// is recorded in the status and an Event, never retried until the input changes.
import type { Counter } from 'prom-client';
import type { PreviewStatus } from '../../api/preview.ts';
import type { ReconcileContext } from '../../runtime/controller.ts';
import { ApiError, isConflict, type KubeObject, Resources } from '../../runtime/kube-client.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { OwnWrites } from '../../runtime/own-writes.ts';
import type { RestMapper } from '../../runtime/rest-mapper.ts';
import { setCondition, updateStatusIfChanged, writeStatusIfChanged } from '../../runtime/status.ts';
import { CLEANUP_FINALIZER, ROLE_LABEL } from './labels.ts';
import type { PreviewPlan } from './lifecycle.ts';
import { PREVIEWS, type PreviewObject } from './model.ts';
import { appName, jobHash } from './render.ts';

export interface ActDeps {
  mgr: Pick<Manager, 'client' | 'events'>;
  mapper: RestMapper;
  expectations: OwnWrites;
  transitions: Counter;
}

/** Errors that the same request would meet again: the input must change first. */
const isRejection = (e: unknown) =>
  e instanceof ApiError &&
  ([400, 403, 404, 422].includes(e.code) ||
    // Server-side apply answers a value of the wrong type (a number for a string) with a 500.
    (e.code === 500 && e.message.includes('failed to create typed patch object')));

/** Acts on the plan; resolves with the preview's latest copy (the status written, if any). */
export async function actOnPreview(
  deps: ActDeps,
  ctx: ReconcileContext,
  cached: PreviewObject,
  plan: PreviewPlan,
): Promise<PreviewObject> {
  const { client, events } = deps.mgr;
  const { namespace, name } = cached.metadata as { namespace: string; name: string };
  const now = Date.now();
  let preview = cached;
  if (plan.addFinalizer) {
    // Before anything is created; the rest of the act writes on the copy it returns.
    preview = await client.mergePatch<PreviewObject>(PREVIEWS, namespace, name, {
      metadata: {
        finalizers: [...(cached.metadata.finalizers ?? []), CLEANUP_FINALIZER],
        resourceVersion: cached.metadata.resourceVersion,
      },
    });
    deps.expectations.wrote(cached, now);
  }
  const written = await writeStatusIfChanged(client, PREVIEWS, preview, plan.status);
  if (written) deps.expectations.wrote(preview, now);
  // Each later write is based on the one before: the cache is fresh only once it shows the last.
  const latest = written ?? preview;
  if (plan.undeploy) {
    // Only the preview this plan saw: a start or any other change since makes the next pass decide again.
    await client.delete(PREVIEWS, namespace, name, 'Background', {
      uid: preview.metadata.uid as string,
      resourceVersion: latest.metadata.resourceVersion as string,
    });
    deps.expectations.wrote(latest, now, true);
  } else if (plan.stop) {
    await client.mergePatch(PREVIEWS, namespace, name, { spec: { state: 'Stopped' } });
    deps.expectations.wrote(latest, now);
  }
  const rejected: Rejection[] = [];
  const jobs = async () => {
    for (const job of plan.create) {
      try {
        await client.createIfAbsent(Resources.jobs, job);
      } catch (e) {
        if (!isRejection(e)) throw e;
        rejected.push({
          step: job.metadata.labels?.[ROLE_LABEL] as string,
          message: `Job ${job.metadata.name}: ${(e as Error).message}`,
          hash: jobHash(job),
        });
      }
    }
    // In the foreground: the Job stays until its pods are gone, so a step that waits for it waits for them.
    for (const { name: job, uid } of plan.deleteJobs)
      await client
        .delete(Resources.jobs, namespace, job, 'Foreground', uid ? { uid } : undefined)
        .catch((e) => {
          if (!isConflict(e)) throw e; // a newer Job of that name: the next pass decides about it
        });
  };
  const app = async () => {
    if (plan.apply) {
      const apply = async (o: KubeObject) => {
        const ref = await deps.mapper.resourceFor(o.apiVersion as string, o.kind as string);
        // A cluster-scoped object would escape the purge of the namespace and clash between
        // previews of the same name in other namespaces.
        if (!ref.namespaced)
          throw new ApiError(
            422,
            'Invalid',
            `${o.kind} ${o.metadata.name} is cluster-scoped: a preview creates objects in its own namespace only`,
          );
        return client.apply(ref, o);
      };
      const deployment = plan.apply.objects.filter((o) => o.kind === 'Deployment');
      try {
        // The Deployment, which carries the hash, only once everything else was applied.
        await Promise.all(plan.apply.objects.filter((o) => o.kind !== 'Deployment').map(apply));
        await Promise.all(deployment.map(apply));
      } catch (e) {
        if (!isRejection(e)) throw e;
        rejected.push({ step: 'app', message: (e as Error).message });
      }
    } else if (plan.scale !== undefined) {
      await client.mergePatch(Resources.deployments, namespace, appName(preview), {
        spec: { replicas: plan.scale },
      });
    }
  };
  // Jobs and the app do not wait on each other (a new preview's init Job and its app at 0 replicas),
  // but the pass waits for both, also when one fails: no write of it may overlap the next pass.
  const failed = (await Promise.allSettled([jobs(), app()])).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  // Events are not waited for (they never fail, as client-go's recorder): the next pass of the
  // repository need not wait on them.
  for (const e of plan.events) {
    deps.transitions.inc({ reason: e.reason });
    void events.record(preview, e.type, e.reason, e.note);
  }
  if (rejected.length) await recordRejections(deps, ctx, preview, plan, rejected);
  return latest;
}

/** What the API server refused: a Job of a step (with its hash), or the app resources. */
interface Rejection {
  step: string;
  message: string;
  hash?: string;
}

/** A rejected Job fails its step; rejected app resources are remembered by hash. */
async function recordRejections(
  deps: ActDeps,
  ctx: ReconcileContext,
  preview: PreviewObject,
  plan: PreviewPlan,
  rejected: Rejection[],
) {
  const status: PreviewStatus = { ...plan.status };
  for (const r of rejected) {
    ctx.log.warn(
      { step: r.step, err: r.message },
      'the API server rejected a preview child; waiting for a change',
    );
    if (r.step === 'build') status.buildStatus = 'error';
    if (r.step === 'init') status.initStatus = 'failed';
    if (r.step === 'cleanup') Object.assign(status, { cleanupStatus: 'failed', rejectedHash: r.hash });
    if (r.step === 'app' && plan.apply) status.rejectedHash = plan.apply.hash;
    if (!preview.status?.deployedCommit || r.step !== 'app')
      status.phase = r.step === 'cleanup' ? 'Undeploying' : 'Failed';
    // The Event says what the Ready reason says.
    const reason =
      r.step === 'app' ? 'ApplyRejected' : r.step === 'cleanup' ? 'CleanupFailed' : 'InvalidTemplate';
    status.conditions = setCondition(
      status.conditions,
      {
        type: 'Ready',
        status: 'False',
        reason,
        message: `Kubernetes rejected the ${r.step} ${r.step === 'app' ? 'resources' : 'Job'}: ${r.message}`,
        observedGeneration: preview.metadata.generation,
      },
      new Date(),
    );
    deps.transitions.inc({ reason });
    await deps.mgr.events.record(preview, 'Warning', reason, r.message);
  }
  // The status written this pass carries a newer resourceVersion; read it back for the write.
  const fresh = await deps.mgr.client.get<PreviewObject>(
    PREVIEWS,
    preview.metadata.namespace,
    preview.metadata.name as string,
  );
  if (await updateStatusIfChanged(deps.mgr.client, PREVIEWS, fresh, status))
    deps.expectations.wrote(fresh, Date.now());
}
