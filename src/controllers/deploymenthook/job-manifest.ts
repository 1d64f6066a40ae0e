// The hook Job for one (hook, Deployment, revision): pure, from the hook's settings and template.
import { labelValue } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { controllerRef } from '../../runtime/ownership.ts';
import type { PodTemplateSpec } from './inherit.ts';
import {
  DEPLOYMENT_ANNOTATION,
  DEPLOYMENT_LABEL,
  DEPLOYMENT_UID_ANNOTATION,
  HOOK_LABEL,
  KIND_LABEL,
  RERUN_ANNOTATION,
  RESULT_FINALIZER,
  REVISION_LABEL,
} from './labels.ts';
import type { HookObject, JobToCreate } from './plan.ts';
import { kindOf } from './workloads.ts';

type Container = { name: string; image?: string; env?: { name: string; value?: string }[] };

export function hookJob(hook: HookObject, run: JobToCreate, template: PodTemplateSpec): KubeObject {
  const hookName = hook.metadata.name as string;
  const deploymentName = run.deployment.metadata.name as string;
  const namespace = hook.metadata.namespace as string;
  const kind = kindOf(run.deployment);
  const labels = {
    [HOOK_LABEL]: labelValue(hookName),
    [DEPLOYMENT_LABEL]: labelValue(deploymentName),
    [KIND_LABEL]: kind,
    [REVISION_LABEL]: labelValue(run.revision),
  };
  const env = [
    { name: 'BOSUN_HOOK', value: hookName },
    { name: 'BOSUN_KIND', value: kind },
    // The workload's name, whatever its kind (the variable predates StatefulSet and DaemonSet hooks).
    { name: 'BOSUN_DEPLOYMENT', value: deploymentName },
    { name: 'BOSUN_WORKLOAD', value: deploymentName },
    { name: 'BOSUN_REVISION', value: run.revision },
    { name: 'BOSUN_NAMESPACE', value: namespace },
  ];
  const inherit = hook.spec.inheritImage;
  const image = run.image;
  const withEnv = (c: Container, setImage: boolean): Container => ({
    ...c,
    ...(setImage && image ? { image } : {}),
    env: [...(c.env ?? []).filter((e) => !e.name.startsWith('BOSUN_')), ...env],
  });
  const spec = template.spec;
  const podSpec = {
    ...spec,
    // A PodTemplate object defaults restartPolicy to Always, which a Job refuses: hooks run once.
    restartPolicy: spec.restartPolicy === 'OnFailure' ? 'OnFailure' : 'Never',
    containers: (spec.containers as Container[]).map((c) =>
      withEnv(c, !!inherit && (!inherit.containers || inherit.containers.includes(c.name))),
    ),
    ...(spec.initContainers
      ? {
          initContainers: (spec.initContainers as Container[]).map((c) =>
            withEnv(c, !!inherit?.containers?.includes(c.name)),
          ),
        }
      : {}),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: run.name,
      namespace,
      labels,
      annotations: {
        [DEPLOYMENT_ANNOTATION]: deploymentName,
        [DEPLOYMENT_UID_ANNOTATION]: run.deployment.metadata.uid ?? '',
        ...(run.rerun ? { [RERUN_ANNOTATION]: run.rerun } : {}),
      },
      ownerReferences: [controllerRef(hook)],
      finalizers: [RESULT_FINALIZER],
    },
    spec: {
      backoffLimit: hook.spec.backoffLimit ?? 0,
      ...(hook.spec.activeDeadlineSeconds ? { activeDeadlineSeconds: hook.spec.activeDeadlineSeconds } : {}),
      ...(hook.spec.ttlSecondsAfterFinished !== undefined
        ? { ttlSecondsAfterFinished: hook.spec.ttlSecondsAfterFinished }
        : {}),
      template: {
        metadata: { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } },
        spec: podSpec,
      },
    },
  };
}
