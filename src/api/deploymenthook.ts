// DeploymentHook: run a Job once after each completed rollout of the matching Deployments.
import {
  conditionsSchema,
  labelMapSchema,
  labelSelectorProperties,
  podTemplateSpecSchema,
} from './common.ts';
import type { KindDefinition } from './crd.ts';
import { type Infer, s } from './schema.ts';

const templateSchema = s.object(
  {
    name: s.optional(
      s.string({
        description:
          "Name of a core/v1 PodTemplate in the hook's namespace, read when a hook Job is created.",
        minLength: 1,
        maxLength: 253,
      }),
    ),
    spec: s.optional(podTemplateSpecSchema('; defaults to Never')),
  },
  {
    description: 'The pod template of the hook Job: exactly one of name or spec.',
    rules: [
      {
        rule: 'has(self.name) != has(self.spec)',
        message:
          'set exactly one of template.name (a PodTemplate in this namespace) or template.spec (an inline pod template)',
        check: (t) => (t.name !== undefined) !== (t.spec !== undefined),
      },
    ],
  },
);

// Which workloads a hook selects (issue 12): the kinds, and DocBot's `selector.labels` spelling.
export const WORKLOAD_KIND_NAMES = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

const workloadSelectorSchema = s.object(
  {
    ...labelSelectorProperties,
    labels: s.optional(
      labelMapSchema(
        'labels',
        "DocBot's spelling of matchLabels, so that its DeploymentHook manifests apply with only apiVersion changed; give one of the two.",
      ),
    ),
  },
  {
    description:
      "Selects workloads of `kinds` in the hook's namespace by their own labels (not their pods' labels).",
    rules: [
      {
        rule: '!(has(self.labels) && has(self.matchLabels))',
        message: "give selector.matchLabels or selector.labels (DocBot's name for it), not both",
        check: (sel) => !(sel.labels && sel.matchLabels),
      },
    ],
  },
);

const kindsSchema = s.array(s.string({ description: 'A workload kind.', enum: WORKLOAD_KIND_NAMES }), {
  description:
    'Kinds of workload the selector picks: Deployment, StatefulSet, DaemonSet (default: Deployment only).',
  maxItems: 3,
  listType: 'set',
});

const workloadSelection = {
  selector: workloadSelectorSchema,
  kinds: s.optional(kindsSchema),
};

export const deploymentHookSpec = s.object(
  {
    ...workloadSelection,
    template: templateSchema,
    inheritImage: s.optional(
      s.object(
        {
          fromContainer: s.optional(
            s.string({
              description: 'Container of the Deployment whose image is used (default: its first container).',
            }),
          ),
          containers: s.optional(
            s.array(s.string({ description: 'A container name.' }), {
              description: 'Hook containers that get the image (default: all).',
            }),
          ),
        },
        { description: 'Run the hook with the image of the revision that just rolled out.' },
      ),
    ),
    concurrencyPolicy: s.optional(
      s.string({
        description:
          'What to do when a rollout completes while a hook Job still runs: Forbid (default) lets it finish, then runs the newest revision only; Replace stops it and starts the new one; Allow runs both.',
        enum: ['Forbid', 'Replace', 'Allow'] as const,
        default: 'Forbid',
      }),
    ),
    backoffLimit: s.optional(
      s.integer({
        description:
          'Retries of a failed hook pod before the run counts as failed (Job backoffLimit; default 0).',
        minimum: 0,
        maximum: 100,
      }),
    ),
    activeDeadlineSeconds: s.optional(
      s.integer({
        description: 'Seconds a hook Job may run before it is stopped and counted as failed.',
        minimum: 1,
        format: 'int64',
      }),
    ),
    ttlSecondsAfterFinished: s.optional(
      s.integer({
        description:
          "Seconds after which a finished hook Job is deleted. Its result stays in the hook's status.",
        minimum: 0,
      }),
    ),
    // BeforeRollout (docs/deploymenthook.md#before-the-rollout): gate a new revision's pods on the Job.
    when: s.optional(
      s.string({
        description:
          'When the Job runs: AfterRollout (default) once a revision has rolled out; BeforeRollout (Deployments only) before any pod of a new revision may be scheduled (its pods wait behind the scheduling gate bosun.dev/before-rollout until the Job succeeds). Revisions that existed before the hook are not gated.',
        enum: ['AfterRollout', 'BeforeRollout'] as const,
        default: 'AfterRollout',
      }),
    ),
    suspend: s.optional(
      s.boolean({
        description:
          'When true, no new hook Jobs are started; rollouts that complete meanwhile run when it is set back to false.',
      }),
    ),
  },
  {
    description:
      'DeploymentHookSpec selects Deployments and describes the Job to run after each of their completed rollouts.',
    rules: [
      {
        rule: '(has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0) || (has(self.selector.labels) && size(self.selector.labels) > 0) || (has(self.selector.matchExpressions) && size(self.selector.matchExpressions) > 0)',
        message:
          'selector must not be empty: give matchLabels (or labels) or matchExpressions that pick the workloads',
        check: (spec) =>
          Object.keys(spec.selector.matchLabels ?? {}).length > 0 ||
          Object.keys(spec.selector.labels ?? {}).length > 0 ||
          (spec.selector.matchExpressions ?? []).length > 0,
      },
      {
        rule: '!has(self.kinds) || size(self.kinds) > 0',
        message:
          'kinds must name at least one of Deployment, StatefulSet, DaemonSet (or be left out for Deployment)',
        check: (spec) => spec.kinds === undefined || spec.kinds.length > 0,
      },
      {
        // The gate holds Deployments' pods only; a StatefulSet or DaemonSet would never be hooked.
        rule: "!has(self.when) || self.when != 'BeforeRollout' || !has(self.kinds) || self.kinds == ['Deployment']",
        message: 'when: BeforeRollout is for Deployments only: leave kinds out or set it to [Deployment]',
        check: (spec) =>
          spec.when !== 'BeforeRollout' ||
          spec.kinds === undefined ||
          (spec.kinds.length === 1 && spec.kinds[0] === 'Deployment'),
      },
    ],
  },
);

const runSchema = s.object(
  {
    revision: s.string({
      description:
        "The workload revision the run is for (a Deployment's deployment.kubernetes.io/revision, a StatefulSet's updateRevision, a DaemonSet's template generation).",
    }),
    jobName: s.string({ description: 'Name of the hook Job.' }),
    phase: s.string({
      description: 'Running, Succeeded or Failed.',
      enum: ['Running', 'Succeeded', 'Failed'] as const,
    }),
    startTime: s.optional(s.string({ description: 'When the Job was created.', format: 'date-time' })),
    completionTime: s.optional(s.string({ description: 'When the Job finished.', format: 'date-time' })),
    reason: s.optional(s.string({ description: "Why the Job failed (the Job's Failed condition reason)." })),
    message: s.optional(s.string({ description: 'Details of the failure.' })),
  },
  { description: 'One hook run.' },
);

export const deploymentHookStatus = s.object(
  {
    observedGeneration: s.optional(
      s.integer({ description: 'The generation of the spec last acted on.', minimum: 0, format: 'int64' }),
    ),
    conditions: s.optional(conditionsSchema),
    matched: s.optional(
      s.integer({ description: 'Number of Deployments the selector matches.', minimum: 0 }),
    ),
    succeeded: s.optional(
      s.integer({ description: "Matched Deployments whose current revision's hook succeeded.", minimum: 0 }),
    ),
    rejectedTemplate: s.optional(
      s.object(
        {
          version: s.string({
            description:
              'The hook generation, PodTemplate version and bosun.dev/rerun value that were rejected.',
          }),
          message: s.string({ description: "The API server's message." }),
        },
        {
          description:
            'A hook Job Kubernetes rejected: no Job is sent again until the hook, its PodTemplate or bosun.dev/rerun changes.',
        },
      ),
    ),
    deployments: s.optional(
      s.array(
        s.object(
          {
            name: s.string({ description: 'The workload (a Deployment unless kind says otherwise).' }),
            kind: s.optional(
              s.string({
                description: 'Deployment, StatefulSet or DaemonSet.',
                enum: WORKLOAD_KIND_NAMES,
                default: 'Deployment',
              }),
            ),
            uid: s.optional(
              s.string({
                description: 'Its UID: a Deployment re-created under the same name starts a new history.',
              }),
            ),
            unmatched: s.optional(
              s.boolean({
                description:
                  'True when the selector no longer matches it; kept while it exists, so matching again does not re-run its revision.',
              }),
            ),
            revision: s.string({ description: 'Its current revision.' }),
            rollout: s.string({
              description: 'Complete, Progressing or Failed (kubectl rollout status semantics).',
              enum: ['Complete', 'Progressing', 'Failed'] as const,
            }),
            message: s.optional(s.string({ description: 'Why the rollout is not complete.' })),
            lastRun: s.optional(runSchema),
            olderRuns: s.optional(
              s.array(runSchema, {
                description:
                  'Runs of older revisions still running (concurrencyPolicy Allow), oldest first, at most 20; each is reported when it finishes.',
                maxItems: 20,
              }),
            ),
            lastSucceededRevision: s.optional(
              s.string({ description: 'The newest revision whose hook succeeded.' }),
            ),
            pendingRevision: s.optional(
              s.string({
                description: 'A completed revision waiting for the running hook Job to finish (Forbid).',
              }),
            ),
            skippedRevisions: s.optional(
              s.array(s.string({ description: 'A revision.' }), {
                description:
                  'Revisions not run because a newer one completed first (Forbid), newest last, at most 10.',
                maxItems: 10,
              }),
            ),
            rerun: s.optional(s.string({ description: 'The bosun.dev/rerun value the last run was for.' })),
            // BeforeRollout (docs/deploymenthook.md#before-the-rollout).
            baselineRevision: s.optional(
              s.string({
                description:
                  'BeforeRollout: the revision the hook found (never gated); only newer templates wait for it. 0 for a Deployment created after the hook.',
              }),
            ),
          },
          { description: 'What the hook did for one matched Deployment.' },
        ),
        {
          description:
            'Per matched workload (Deployments, and the other kinds): its rollout and its hook runs.',
          listType: 'map',
          mapKeys: ['kind', 'name'],
        },
      ),
    ),
  },
  { description: 'DeploymentHookStatus is what the operator observed and did.' },
);

export type DeploymentHookSpec = Infer<typeof deploymentHookSpec>;
export type DeploymentHookStatus = Infer<typeof deploymentHookStatus>;
export type DeploymentRunStatus = NonNullable<DeploymentHookStatus['deployments']>[number];

export const DeploymentHookKind: KindDefinition = {
  kind: 'DeploymentHook',
  plural: 'deploymenthooks',
  singular: 'deploymenthook',
  shortNames: ['dh', 'hook'],
  description:
    'DeploymentHook runs a Job once after each completed rollout of the Deployments it selects (database migrations, cache warm-up, smoke tests).',
  spec: deploymentHookSpec,
  status: deploymentHookStatus,
  printerColumns: [
    { name: 'Matched', type: 'integer', jsonPath: '.status.matched' },
    { name: 'Succeeded', type: 'integer', jsonPath: '.status.succeeded' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: 'Policy', type: 'string', jsonPath: '.spec.concurrencyPolicy', priority: 1 },
  ],
};
