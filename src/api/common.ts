// Schema pieces shared by Bosun's kinds.
import { s } from './schema.ts';
import {
  isLabelKey,
  isLabelValue,
  LABEL_KEY_MAX,
  LABEL_KEY_MESSAGE,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_MESSAGE,
  LABEL_VALUE_PATTERN,
} from './selector.ts';

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

const labelKey = (description: string) =>
  s.string({
    description,
    maxLength: LABEL_KEY_MAX,
    rules: [{ rule: `self.matches('${LABEL_KEY_PATTERN}')`, message: LABEL_KEY_MESSAGE, check: isLabelKey }],
  });
const labelValueSchema = (description: string) =>
  s.string({
    description,
    maxLength: 63,
    rules: [
      { rule: `self.matches('${LABEL_VALUE_PATTERN}')`, message: LABEL_VALUE_MESSAGE, check: isLabelValue },
    ],
  });
const NEEDS_VALUES = ['In', 'NotIn'];

/** A map of label keys to values, each checked as the API server checks labels. */
export const labelMapSchema = (field: string, description: string) =>
  s.map(labelValueSchema('Label value.'), {
    description,
    maxProperties: 64,
    rules: [
      {
        rule: `self.all(k, size(k) <= ${LABEL_KEY_MAX} && k.matches('${LABEL_KEY_PATTERN}'))`,
        message: `each ${field} key ${LABEL_KEY_MESSAGE}`,
        check: (m) => Object.keys(m).every(isLabelKey),
      },
    ],
  });

/** The fields of a metav1.LabelSelector, for kinds that accept more (see DeploymentHook). */
export const labelSelectorProperties = {
  matchLabels: s.optional(labelMapSchema('matchLabels', 'Labels that must all match.')),
  matchExpressions: s.optional(
    s.array(
      s.object(
        {
          key: labelKey('The label key.'),
          operator: s.string({
            description: 'In, NotIn, Exists or DoesNotExist.',
            enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const,
          }),
          values: s.optional(
            s.array(labelValueSchema('A value.'), {
              description: 'Values for In and NotIn (at least one); none for Exists and DoesNotExist.',
              maxItems: 256,
            }),
          ),
        },
        {
          description: 'A label selector requirement.',
          rules: [
            {
              rule: "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
              message: 'values must list at least one value for operator In and NotIn',
              fieldPath: '.values',
              check: (e) => !NEEDS_VALUES.includes(e.operator) || (e.values ?? []).length > 0,
            },
            {
              rule: "self.operator in ['In', 'NotIn'] || !has(self.values) || size(self.values) == 0",
              message: 'values must be empty for operator Exists and DoesNotExist',
              fieldPath: '.values',
              check: (e) => NEEDS_VALUES.includes(e.operator) || (e.values ?? []).length === 0,
            },
          ],
        },
      ),
      { description: 'Requirements that must all match.', maxItems: 64 },
    ),
  ),
};

export const labelSelectorSchema = s.object(labelSelectorProperties, {
  description: 'A Kubernetes label selector.',
});

export { containerSchema, envVarSchema, podTemplateSpecSchema } from './pod-template.ts';

export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
};
