// Strict pod template schemas for Bosun's kinds, from the generated core/v1 PodSpec
// (tools/generate-pod-schema.ts). Unknown fields are rejected at `kubectl apply`, as for a
// DaemonSet: `nodeSelecter:` is an error, never a silently dropped selector.
import generated from './pod-spec.openapi.json' with { type: 'json' };
import { type OpenApi, s } from './schema.ts';

const podSpec = generated.podSpec as OpenApi;

/** A core/v1 Container (also what `initContainers[]` holds). */
export const containerOpenApi = podSpec.properties?.containers?.items as OpenApi;
/** A core/v1 EnvVar. */
export const envVarOpenApi = containerOpenApi.properties?.env?.items as OpenApi;

export type Container = {
  name: string;
  image?: string;
  env?: { name: string; value?: string; [field: string]: unknown }[];
  [field: string]: unknown;
};
export type PodSpec = {
  restartPolicy?: 'Never' | 'OnFailure';
  containers: Container[];
  initContainers?: Container[];
  [field: string]: unknown;
};

export const containerSchema = s.structural<Container>({
  ...containerOpenApi,
  description: 'A core/v1 Container.',
});
export const envVarSchema = s.structural<NonNullable<Container['env']>[number]>({
  ...envVarOpenApi,
  description: 'A core/v1 EnvVar.',
});

const podMetadata = s.object(
  {
    labels: s.optional(
      s.map(s.string({ description: 'Label value.' }), { description: 'Labels added to the pods.' }),
    ),
    annotations: s.optional(
      s.map(s.string({ description: 'Annotation value.' }), {
        description: 'Annotations added to the pods.',
      }),
    ),
  },
  { description: 'Labels and annotations of the pods.' },
);

/**
 * A strict core/v1 PodTemplateSpec whose pods must finish: `restartPolicy` is Never or OnFailure
 * (`restartPolicyRule` completes its description, e.g. "; defaults to Never").
 */
export const podTemplateSpecSchema = (restartPolicyRule: string) =>
  s.object(
    {
      metadata: s.optional(podMetadata),
      spec: s.structural<PodSpec>(
        {
          ...podSpec,
          description: `A core/v1 PodSpec (${generated.source}); unknown fields are rejected.`,
          properties: {
            ...podSpec.properties,
            restartPolicy: {
              type: 'string',
              description: `Never or OnFailure${restartPolicyRule}.`,
              enum: ['Never', 'OnFailure'],
            },
          },
        },
        {
          rules: [
            {
              rule: 'size(self.containers) > 0',
              message: 'spec.containers must list at least one container',
              check: (p) => p.containers.length > 0,
            },
          ],
        },
      ),
    },
    { description: 'A core/v1 PodTemplateSpec: metadata and spec of the pods to run.' },
  );
