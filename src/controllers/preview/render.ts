// Renders a preview's children from its template: the build, init and cleanup Jobs, the app's
// Deployment, Service and Ingress, and the extra resources. Pure: same inputs, same manifests.
import { labelValue, shortHash } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { controllerRef } from '../../runtime/ownership.ts';
import { PREVIEW_LABEL, ROLE_LABEL, type Role } from './labels.ts';
import type { PreviewObject, RepositoryObject, TemplateObject } from './model.ts';
import { branchMatches, childName, previewSlug, shortCommit } from './naming.ts';
import { substitute, substituteAll, type Variables, variableNameProblems } from './variables.ts';

export class RenderError extends Error {}

type EnvVar = { name: string; value?: string; valueFrom?: unknown };
type PodTemplate = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
};

/** The settings of the first override matching the branch (the base branch for pull requests). */
export function repositorySettings(repo: RepositoryObject['spec'], preview: PreviewObject['spec']) {
  const branch = preview.targetBranch ?? preview.branch;
  const override = repo.overrides?.find((o) => o.branches.some((p) => branchMatches(p, branch)));
  return {
    template: preview.template ?? override?.template ?? repo.template,
    image: override?.image ?? repo.image,
    env: [...(override?.env ?? [])],
    variables: { ...repo.variables, ...override?.variables },
  };
}

export interface RenderInput {
  preview: PreviewObject;
  repository: RepositoryObject;
  template: TemplateObject;
}

export interface Rendered {
  variables: Variables;
  host?: string;
  url?: string;
  /** The image the app runs: the build's, else the repository's. */
  image?: string;
}

/** The variables of a preview, and its host and URL. Throws RenderError for a bad template. */
export function previewVariables({ preview, repository, template }: RenderInput): Rendered {
  const settings = repositorySettings(repository.spec, preview.spec);
  const problems = variableNameProblems(Object.keys(settings.variables));
  if (problems.length)
    throw new RenderError(`PreviewRepository ${repository.metadata.name}: ${problems.join('; ')}`);
  const name = preview.metadata.name as string;
  const slug = previewSlug(name);
  const domain = template.spec.ingress?.domain;
  const host = domain ? `${slug}.${domain}` : undefined;
  const base: Variables = {
    ...settings.variables,
    repository: repository.spec.repository,
    branch: preview.spec.branch,
    targetBranch: preview.spec.targetBranch ?? '',
    pullRequest: preview.spec.pullRequest === undefined ? '' : String(preview.spec.pullRequest),
    commit: preview.spec.commit,
    shortCommit: shortCommit(preview.spec.commit),
    slug,
    host: host ?? '',
    preview: name,
  };
  const build = template.spec.build;
  const image = build ? wrap(() => substitute(build.image, base, 'build.image')) : settings.image;
  const url = host ? `${template.spec.ingress?.tlsSecretName ? 'https' : 'http'}://${host}` : undefined;
  return { variables: { ...base, image: image ?? '' }, host, url, image };
}

const wrap = <T>(f: () => T): T => {
  try {
    return f();
  } catch (e) {
    throw e instanceof RenderError ? e : new RenderError((e as Error).message);
  }
};

function meta(input: RenderInput, name: string, role: Role, labels: Record<string, string> = {}) {
  return {
    name,
    namespace: input.preview.metadata.namespace,
    labels: {
      ...labels,
      [PREVIEW_LABEL]: labelValue(input.preview.metadata.name as string),
      [ROLE_LABEL]: role,
    },
    ownerReferences: [controllerRef(input.preview)],
  };
}

/** Substitutes, labels and adds the template's env to a pod template. */
function podTemplate(
  input: RenderInput,
  vars: Variables,
  tpl: unknown,
  role: Role,
  path: string,
): PodTemplate {
  const rendered = wrap(() => substituteAll(tpl, vars, path)) as PodTemplate;
  const settings = repositorySettings(input.repository.spec, input.preview.spec);
  const env: EnvVar[] = [
    ...wrap(() => substituteAll(input.template.spec.env ?? [], vars, 'env')),
    ...wrap(() => substituteAll(settings.env, vars, 'overrides.env')),
    ...(input.template.spec.secretEnv ?? []).map((e) => ({
      name: e.name,
      valueFrom: { secretKeyRef: { name: e.secretName, key: e.key } },
    })),
  ];
  const withEnv = (containers: unknown) =>
    ((containers ?? []) as Record<string, unknown>[]).map((c) => {
      const own = (c.env ?? []) as EnvVar[];
      const names = new Set(own.map((e) => e.name));
      const image = c.image ?? (role === 'app' || role === 'init' ? vars.image || undefined : undefined);
      if (!image)
        throw new RenderError(
          `${path}: container "${c.name}" has no image and there is no \${image} (no build, no repository image)`,
        );
      return { ...c, image, env: [...env.filter((e) => !names.has(e.name)), ...own] };
    });
  const spec = rendered.spec;
  return {
    metadata: {
      ...rendered.metadata,
      labels: {
        ...rendered.metadata?.labels,
        [PREVIEW_LABEL]: labelValue(input.preview.metadata.name as string),
        [ROLE_LABEL]: role,
      },
    },
    spec: {
      ...spec,
      containers: withEnv(spec.containers),
      ...(spec.initContainers ? { initContainers: withEnv(spec.initContainers) } : {}),
    },
  };
}

function job(
  input: RenderInput,
  vars: Variables,
  role: 'build' | 'init' | 'cleanup',
  name: string,
  step: { template: unknown; backoffLimit?: number; activeDeadlineSeconds?: number },
  defaults: { backoffLimit: number; activeDeadlineSeconds?: number },
): KubeObject {
  const pod = podTemplate(input, vars, step.template, role, `${role}.template`);
  const deadline = step.activeDeadlineSeconds ?? defaults.activeDeadlineSeconds;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(input, name, role),
    spec: {
      backoffLimit: step.backoffLimit ?? defaults.backoffLimit,
      ...(deadline ? { activeDeadlineSeconds: deadline } : {}),
      template: {
        ...pod,
        spec: { ...pod.spec, restartPolicy: pod.spec.restartPolicy === 'OnFailure' ? 'OnFailure' : 'Never' },
      },
    },
  };
}

export const buildJobName = (preview: PreviewObject, attempt: number) =>
  childName(
    preview.metadata.name as string,
    'build',
    shortCommit(preview.spec.commit),
    ...(attempt ? [String(attempt)] : []),
  );
export const initJobName = (preview: PreviewObject, attempt: number) =>
  childName(preview.metadata.name as string, 'init', String(attempt));
export const cleanupJobName = (preview: PreviewObject) =>
  childName(preview.metadata.name as string, 'cleanup');
/** Names a rendered Job's content: a rejected one is not created again until it changes. */
export const jobHash = (job: KubeObject) => shortHash(JSON.stringify(job), 16);
export const appName = (preview: PreviewObject) => childName(preview.metadata.name as string);

export function renderBuildJob(input: RenderInput, r: Rendered, attempt: number): KubeObject | undefined {
  const build = input.template.spec.build;
  return (
    build &&
    job(input, r.variables, 'build', buildJobName(input.preview, attempt), build, { backoffLimit: 3 })
  );
}

export function renderInitJob(input: RenderInput, r: Rendered, attempt: number): KubeObject | undefined {
  const init = input.template.spec.initialize;
  return (
    init &&
    job(input, r.variables, 'init', initJobName(input.preview, attempt), init, {
      backoffLimit: 0,
      activeDeadlineSeconds: 1200,
    })
  );
}

export function renderCleanupJob(input: RenderInput, r: Rendered): KubeObject | undefined {
  const cleanup = input.template.spec.cleanup;
  return (
    cleanup && job(input, r.variables, 'cleanup', cleanupJobName(input.preview), cleanup, { backoffLimit: 6 })
  );
}

/**
 * The app's resources (Deployment at `replicas`, Service, Ingress, extra resources) and a hash of
 * everything but the replica count, so that scaling never counts as a change of the app.
 */
export function renderApp(input: RenderInput, r: Rendered): { objects: KubeObject[]; hash: string } {
  const { template } = input;
  const name = appName(input.preview);
  const selector = {
    [PREVIEW_LABEL]: labelValue(input.preview.metadata.name as string),
    [ROLE_LABEL]: 'app',
  };
  const pod = podTemplate(input, r.variables, template.spec.app.template, 'app', 'app.template');
  const { restartPolicy: _, ...podSpec } = pod.spec;
  const objects: KubeObject[] = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(input, name, 'app'),
      spec: { replicas: 0, selector: { matchLabels: selector }, template: { ...pod, spec: podSpec } },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(input, name, 'app'),
      spec: { selector, ports: [{ name: 'http', port: 80, targetPort: template.spec.app.port }] },
    },
  ];
  const ingress = template.spec.ingress;
  if (ingress && r.host)
    objects.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        ...meta(input, name, 'app'),
        ...(ingress.annotations
          ? {
              annotations: wrap(() => substituteAll(ingress.annotations, r.variables, 'ingress.annotations')),
            }
          : {}),
      },
      spec: {
        ...(ingress.className ? { ingressClassName: ingress.className } : {}),
        ...(ingress.tlsSecretName ? { tls: [{ hosts: [r.host], secretName: ingress.tlsSecretName }] } : {}),
        rules: [
          {
            host: r.host,
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name, port: { name: 'http' } } } },
              ],
            },
          },
        ],
      },
    });
  for (const [i, raw] of (template.spec.resources ?? []).entries()) {
    const o = wrap(() => substituteAll(raw, r.variables, `resources[${i}]`)) as KubeObject;
    if (
      typeof o.apiVersion !== 'string' ||
      typeof o.kind !== 'string' ||
      typeof o.metadata?.name !== 'string'
    )
      throw new RenderError(`resources[${i}]: needs apiVersion, kind and metadata.name`);
    if (o.metadata.namespace && o.metadata.namespace !== input.preview.metadata.namespace)
      throw new RenderError(
        `resources[${i}]: must be in the preview's namespace, not "${o.metadata.namespace}"`,
      );
    const m = meta(input, o.metadata.name, 'resource', o.metadata.labels);
    objects.push({ ...o, metadata: { ...o.metadata, ...m } });
  }
  const hash = shortHash(JSON.stringify(objects), 16);
  // The Deployment goes last: its hash annotation says that everything before it was applied.
  return { objects: [...objects.slice(1), objects[0] as KubeObject], hash };
}
