// The pod that runs the DaemonJob's template on one node, created by Bosun itself (as the DaemonSet
// controller does): pinned by required node affinity on the node's name (the scheduler still
// checks that the pod fits), with the DaemonSet tolerations and the result finalizer. Every container
// gets BOSUN_NODE_NAME, the node it is for, unless the template sets it.
import { labelValue } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { controllerRef } from '../../runtime/ownership.ts';
import { daemonTolerations, type Toleration } from './eligibility.ts';
import {
  ATTEMPT_LABEL,
  DAEMONJOB_LABEL,
  NODE_ANNOTATION,
  NODE_LABEL,
  NODE_RESULT_FINALIZER,
  TEMPLATE_HASH_LABEL,
} from './labels.ts';
import type { DaemonJobObject, PodToStart } from './plan.ts';

export const NODE_NAME_ENV = 'BOSUN_NODE_NAME';

interface Container {
  env?: { name: string }[];
}

const withNodeName = (containers: unknown, node: string) =>
  (containers as Container[] | undefined)?.map((c) =>
    c.env?.some((e) => e.name === NODE_NAME_ENV)
      ? c
      : { ...c, env: [...(c.env ?? []), { name: NODE_NAME_ENV, value: node }] },
  );

export function nodePod(dj: DaemonJobObject, start: PodToStart, hash: string): KubeObject {
  const { node, name, attempt, activeDeadlineSeconds } = start;
  const template = dj.spec.template as {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: Record<string, unknown>;
  };
  const own = (template.spec.tolerations ?? []) as Toleration[];
  const affinity = (template.spec.affinity ?? {}) as Record<string, unknown>;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: dj.metadata.namespace,
      labels: {
        ...template.metadata?.labels,
        [DAEMONJOB_LABEL]: labelValue(dj.metadata.name as string),
        [NODE_LABEL]: labelValue(node),
        [TEMPLATE_HASH_LABEL]: hash,
        [ATTEMPT_LABEL]: String(attempt),
      },
      annotations: { ...template.metadata?.annotations, [NODE_ANNOTATION]: node },
      ownerReferences: [controllerRef(dj)],
      finalizers: [NODE_RESULT_FINALIZER],
    },
    spec: {
      ...template.spec,
      restartPolicy: template.spec.restartPolicy === 'OnFailure' ? 'OnFailure' : 'Never',
      ...(activeDeadlineSeconds ? { activeDeadlineSeconds } : {}),
      containers: withNodeName(template.spec.containers, node),
      ...(template.spec.initContainers
        ? { initContainers: withNodeName(template.spec.initContainers, node) }
        : {}),
      // Eligibility was decided from the template; the pod only has to land on its node.
      affinity: {
        ...affinity,
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
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
  };
}
