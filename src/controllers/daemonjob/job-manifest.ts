// The Job that runs the DaemonJob's pod on one node: pinned by required node affinity on the
// node's name (the scheduler still checks that the pod fits), with the DaemonSet tolerations.
import { labelValue } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { controllerRef } from '../../runtime/ownership.ts';
import { daemonTolerations, type Toleration } from './eligibility.ts';
import {
  DAEMONJOB_LABEL,
  NODE_ANNOTATION,
  NODE_LABEL,
  NODE_RESULT_FINALIZER,
  TEMPLATE_HASH_LABEL,
} from './labels.ts';
import type { DaemonJobObject } from './plan.ts';

export function nodeJob(dj: DaemonJobObject, node: string, name: string, hash: string): KubeObject {
  const labels = {
    [DAEMONJOB_LABEL]: labelValue(dj.metadata.name as string),
    [NODE_LABEL]: labelValue(node),
    [TEMPLATE_HASH_LABEL]: hash,
  };
  const template = dj.spec.template as {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: Record<string, unknown>;
  };
  const own = (template.spec.tolerations ?? []) as Toleration[];
  const affinity = (template.spec.affinity ?? {}) as Record<string, unknown>;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: dj.metadata.namespace,
      labels,
      annotations: { [NODE_ANNOTATION]: node },
      ownerReferences: [controllerRef(dj)],
      finalizers: [NODE_RESULT_FINALIZER],
    },
    spec: {
      backoffLimit: dj.spec.backoffLimit ?? 6,
      ...(dj.spec.activeDeadlineSeconds ? { activeDeadlineSeconds: dj.spec.activeDeadlineSeconds } : {}),
      ...(dj.spec.ttlSecondsAfterFinished !== undefined
        ? { ttlSecondsAfterFinished: dj.spec.ttlSecondsAfterFinished }
        : {}),
      template: {
        metadata: { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } },
        spec: {
          ...template.spec,
          restartPolicy: template.spec.restartPolicy === 'OnFailure' ? 'OnFailure' : 'Never',
          // Eligibility was decided from the template; the pod only has to land on its node.
          affinity: {
            ...affinity,
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
                ],
              },
            },
          },
          tolerations: [
            ...own,
            ...daemonTolerations(template.spec).filter(
              (d) => !own.some((t) => t.key === d.key && t.effect === d.effect),
            ),
          ],
        },
      },
    },
  };
}
