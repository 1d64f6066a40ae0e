// `inheritImage`: the hook runs the image of the workload's container (any kind: all have a pod template). A container name that
// does not exist is a template problem, never a silent fallback to the template's own image.
import type { DeploymentHookSpec } from '../../api/deploymenthook.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import type { TemplateProblem } from './plan.ts';
import { kindAndName, kindOf } from './workloads.ts';

export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: a core/v1 PodSpec, validated by the CRD schema and the API server
  spec: Record<string, any>;
}

type Inherit = DeploymentHookSpec['inheritImage'];
type Named = { name: string; image?: string };

const names = (list: unknown): string[] => ((list ?? []) as Named[]).map((c) => c.name);

/** The image of the Deployment's container that `inheritImage` names (default: its first container). */
export function inheritedImage(deployment: KubeObject, fromContainer?: string): string | undefined {
  const containers: Named[] = deployment.spec?.template?.spec?.containers ?? [];
  const source = fromContainer ? containers.find((c) => c.name === fromContainer) : containers[0];
  return source?.image;
}

/** A listed hook container that the template lacks: no run of the hook can be built. */
export function templateImageProblem(
  inherit: Inherit,
  template: PodTemplateSpec | undefined,
): TemplateProblem | undefined {
  if (!inherit?.containers || !template) return undefined;
  const present = [...names(template.spec.containers), ...names(template.spec.initContainers)];
  const missing = inherit.containers.filter((c) => !present.includes(c));
  if (!missing.length) return undefined;
  return {
    reason: 'InvalidTemplate',
    message: `inheritImage.containers names ${missing.map((c) => `"${c}"`).join(', ')}, which the hook template does not have (it has ${present.map((c) => `"${c}"`).join(', ')})`,
  };
}

/** Why this workload's run cannot get its image, if it cannot. */
export function imageProblem(inherit: Inherit, deployment: KubeObject): string | undefined {
  if (!inherit) return undefined;
  const present = names(deployment.spec?.template?.spec?.containers);
  const workload = kindAndName(kindOf(deployment), deployment.metadata.name as string);
  if (inherit.fromContainer && !present.includes(inherit.fromContainer))
    return `${workload} has no container "${inherit.fromContainer}" (inheritImage.fromContainer; it has ${present.map((c) => `"${c}"`).join(', ')})`;
  if (!inheritedImage(deployment, inherit.fromContainer))
    return `${workload}: its container has no image to inherit`;
  return undefined;
}
