// Schema pieces shared by Bosun's kinds.
import { s } from './schema.ts';

export const conditionsSchema = s.array(
  s.object(
    {
      type: s.string({ description: 'Type of condition in CamelCase, e.g. Ready, Failed.', maxLength: 316 }),
      status: s.string({
        description: 'True, False or Unknown.',
        enum: ['True', 'False', 'Unknown'] as const,
      }),
      reason: s.string({
        description: 'A machine-readable CamelCase reason for the last transition.',
        maxLength: 1024,
      }),
      message: s.string({ description: 'A human-readable explanation.', maxLength: 32768 }),
      observedGeneration: s.optional(
        s.integer({
          description: 'The .metadata.generation the condition was set for.',
          minimum: 0,
          format: 'int64',
        }),
      ),
      lastTransitionTime: s.string({ description: 'When the status last changed.', format: 'date-time' }),
    },
    { description: 'A condition of the resource, following Kubernetes API conventions.' },
  ),
  { description: 'The latest observations of the resource state.', listType: 'map', mapKeys: ['type'] },
);

export const labelSelectorSchema = s.object(
  {
    matchLabels: s.optional(
      s.map(s.string({ description: 'Label value.' }), { description: 'Labels that must all match.' }),
    ),
    matchExpressions: s.optional(
      s.array(
        s.object(
          {
            key: s.string({ description: 'The label key.' }),
            operator: s.string({
              description: 'In, NotIn, Exists or DoesNotExist.',
              enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const,
            }),
            values: s.optional(
              s.array(s.string({ description: 'A value.' }), {
                description: 'Values for In and NotIn; empty for Exists and DoesNotExist.',
              }),
            ),
          },
          { description: 'A label selector requirement.' },
        ),
        { description: 'Requirements that must all match.' },
      ),
    ),
  },
  { description: 'A Kubernetes label selector.' },
);

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

/** A core/v1 PodTemplateSpec. The pod spec itself is validated by the API server when a Job is created. */
export const podTemplateSpecSchema = (restartPolicyRule: string) =>
  s.object(
    {
      metadata: s.optional(podMetadata),
      spec: s.object(
        {
          restartPolicy: s.optional(
            s.string({
              description: `Never or OnFailure${restartPolicyRule}.`,
              enum: ['Never', 'OnFailure'] as const,
            }),
          ),
          containers: s.array(s.preserved({ description: 'A core/v1 Container.' }), {
            description: 'The containers of the pod (at least one).',
          }),
        },
        {
          description: 'A core/v1 PodSpec.',
          preserveUnknownFields: true,
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

export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
};
