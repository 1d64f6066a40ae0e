// DaemonJob: run a pod to completion once on every eligible node, including nodes that join later.
import { conditionsSchema, podTemplateSpecSchema } from './common.ts';
import type { KindDefinition } from './crd.ts';
import { type Infer, s } from './schema.ts';

export const PERCENT = '^(100|[1-9][0-9]?)%$';
/** Five cron fields or a macro; the time zone goes in spec.timeZone, never in the schedule. */
export const SCHEDULE =
  '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9A-Za-z*?,/#-]+( +[0-9A-Za-z*?,/#-]+){4})$';
/** The shape of an IANA time zone name (Europe/Berlin, America/Argentina/Buenos_Aires, UTC). */
export const TIME_ZONE = '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$';
const SCHEDULED_ONLY = [
  'timeZone',
  'concurrencyPolicy',
  'startingDeadlineSeconds',
  'successfulRunsHistoryLimit',
  'failedRunsHistoryLimit',
] as const;

export const daemonJobSpec = s.object(
  {
    template: podTemplateSpecSchema('; Always is not allowed: the pod must finish'),
    maxParallel: s.optional(
      s.intOrString({
        description:
          'Nodes running at once: a positive integer or a percentage of the eligible nodes ("25%"; rounded up). Default: all.',
      }),
    ),
    backoffLimit: s.optional(
      s.integer({
        description:
          'Retries per node before the node counts as failed (BackoffLimitExceeded): a new pod after 10 s, doubling up to 6 min, as for Jobs; with restartPolicy OnFailure, container restarts count. Default 6.',
        minimum: 0,
        maximum: 100,
      }),
    ),
    activeDeadlineSeconds: s.optional(
      s.integer({
        description:
          "Seconds a node's pods may run, all tries together, before the node fails (DeadlineExceeded); each pod gets what is left as its activeDeadlineSeconds.",
        minimum: 1,
        format: 'int64',
      }),
    ),
    failurePolicy: s.optional(
      s.string({
        description:
          'Continue (default): other nodes go on after a node fails. FailFast: no new node starts after the first failure.',
        enum: ['Continue', 'FailFast'] as const,
        default: 'Continue',
      }),
    ),
    newNodes: s.optional(
      s.string({
        description:
          'Run (default): nodes that become eligible later run too. Ignore: only the nodes eligible when the run started run.',
        enum: ['Run', 'Ignore'] as const,
        default: 'Run',
      }),
    ),
    ttlSecondsAfterFinished: s.optional(
      s.integer({
        description:
          'Seconds after which a finished per-node pod is deleted, once its result is in the status.',
        minimum: 0,
      }),
    ),
    labelNodes: s.optional(
      s.boolean({
        description:
          'When true, each node that succeeded in the current run gets the label daemonjob.bosun.dev/<namespace>.<name> (shortened with a hash past 63 characters) set to the template hash (for node selectors of later workloads and `kubectl get nodes -L`).',
      }),
    ),
    suspend: s.optional(
      s.boolean({ description: 'When true, no new node starts; running ones finish (with their retries).' }),
    ),
    cordon: s.optional(
      s.boolean({
        description:
          'When true, each node is cordoned (spec.unschedulable) before its pod starts and uncordoned after it succeeds; a node that fails stays cordoned and is listed in status.cordonedNodes. A node someone else cordoned is used as it is and never uncordoned. maxParallel then defaults to 1 and counts cordoned nodes. Implied by drain.',
      }),
    ),
    drain: s.optional(
      s.object(
        {
          timeoutSeconds: s.optional(
            s.integer({
              description:
                'Seconds the drain may take before the node fails (DrainTimeout) and stays cordoned. Default: no limit.',
              minimum: 1,
              format: 'int64',
            }),
          ),
          ignoreDaemonSets: s.optional(
            s.boolean({
              description:
                'Leave pods of DaemonSets in place. Without it a node running such a pod is not drained (a DrainRefused Warning) until the timeout.',
            }),
          ),
          deleteEmptyDirData: s.optional(
            s.boolean({
              description:
                'Evict pods with emptyDir volumes too, losing that data. Without it such a pod holds the drain (DrainRefused) until the timeout.',
            }),
          ),
        },
        {
          description:
            'Drain each node after cordoning it, before its pod starts: every pod on the node is evicted through the Eviction API, so PodDisruptionBudgets hold (a refused eviction is retried). Mirror pods, finished pods and per-node pods of DaemonJobs stay; a pod without a controller holds the drain, as with kubectl drain without --force.',
        },
      ),
    ),
    schedule: s.optional(
      s.string({
        description:
          "Cron schedule (minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly), as a CronJob's: each scheduled time starts a new run on every eligible node. Without it, the DaemonJob runs once per pod template.",
        maxLength: 128,
        rules: [
          {
            rule: `self.matches('${SCHEDULE}')`,
            message:
              'schedule must be 5 cron fields (minute hour day-of-month month day-of-week) or @yearly, @monthly, @weekly, @daily, @hourly; put the time zone in spec.timeZone',
            check: (v) => new RegExp(SCHEDULE).test(v),
          },
        ],
      }),
    ),
    timeZone: s.optional(
      s.string({
        description: "IANA time zone of the schedule (e.g. Europe/Berlin), as a CronJob's. Default: UTC.",
        maxLength: 64,
        rules: [
          {
            rule: `self.matches('${TIME_ZONE}')`,
            message: 'timeZone must be an IANA time zone name such as Europe/Berlin or UTC',
            check: (v) => new RegExp(TIME_ZONE).test(v),
          },
        ],
      }),
    ),
    concurrencyPolicy: s.optional(
      s.string({
        description:
          'With a schedule, when a scheduled time comes while the previous run is still active: Forbid (default) does not start it (it starts when that run ends, within startingDeadlineSeconds); Replace ends the previous run (its results are recorded, its running pods deleted) and starts the new one.',
        enum: ['Forbid', 'Replace'] as const,
      }),
    ),
    startingDeadlineSeconds: s.optional(
      s.integer({
        description:
          'With a schedule: seconds after a scheduled time within which its run may still start (the operator was down, or the previous run still ran); later, it is missed. Default: no deadline.',
        minimum: 1,
        format: 'int64',
      }),
    ),
    successfulRunsHistoryLimit: s.optional(
      s.integer({
        description:
          'With a schedule: completed earlier runs kept in status.runs, with their pods. Default 3.',
        minimum: 0,
        maximum: 50,
      }),
    ),
    failedRunsHistoryLimit: s.optional(
      s.integer({
        description:
          'With a schedule: failed or replaced earlier runs kept in status.runs, with their pods. Default 1.',
        minimum: 0,
        maximum: 50,
      }),
    ),
    notReadyTimeoutSeconds: s.optional(
      s.integer({
        description:
          'Seconds an eligible node may stay not Ready before it counts as failed (reason NodeNotReady; its running pod is deleted). Default 300, as the eviction of pods from an unreachable node.',
        minimum: 1,
        format: 'int64',
      }),
    ),
  },
  {
    description: 'DaemonJobSpec describes the pod to run once on every eligible node.',
    rules: [
      {
        rule: "!has(self.template.spec.restartPolicy) || self.template.spec.restartPolicy != 'Always'",
        message: 'template.spec.restartPolicy must be Never or OnFailure: a DaemonJob pod runs to completion',
      },
      {
        rule: '!has(self.drain) || !has(self.cordon) || self.cordon',
        message: 'drain cordons the node first: remove cordon: false, or drain',
        check: (spec) => spec.drain === undefined || spec.cordon !== false,
      },
      {
        rule:
          "!has(self.maxParallel) || (type(self.maxParallel) == int ? self.maxParallel > 0 : self.maxParallel.matches('" +
          PERCENT +
          "'))",
        message: 'maxParallel must be a positive integer or a percentage from 1% to 100% (e.g. 2 or "25%")',
        check: (spec) =>
          spec.maxParallel === undefined ||
          (typeof spec.maxParallel === 'number'
            ? spec.maxParallel > 0
            : new RegExp(PERCENT).test(spec.maxParallel)),
      },
      {
        rule: `has(self.schedule) || ${SCHEDULED_ONLY.map((f) => `!has(self.${f})`).join(' && ')}`,
        message: `${SCHEDULED_ONLY.join(', ')} apply only with a schedule: set spec.schedule or remove them`,
        check: (spec) => spec.schedule !== undefined || SCHEDULED_ONLY.every((f) => spec[f] === undefined),
      },
    ],
  },
);

export const daemonJobStatus = s.object(
  {
    observedGeneration: s.optional(
      s.integer({ description: 'The generation of the spec last acted on.', minimum: 0, format: 'int64' }),
    ),
    phase: s.optional(
      s.string({
        description:
          'Running, Complete, Failed or Suspended; Waiting for a scheduled DaemonJob before its first run.',
        enum: ['Running', 'Complete', 'Failed', 'Suspended', 'Waiting'] as const,
      }),
    ),
    templateHash: s.optional(
      s.string({
        description:
          'Hash of the pod template of the current run, and of its scheduled time with a schedule; a new template starts a new run.',
      }),
    ),
    startTime: s.optional(s.string({ description: 'When the current run started.', format: 'date-time' })),
    completionTime: s.optional(
      s.string({ description: 'When the current run finished.', format: 'date-time' }),
    ),
    desired: s.optional(s.integer({ description: 'Eligible nodes.', minimum: 0 })),
    active: s.optional(
      s.integer({ description: 'Nodes whose pod runs now or that wait for a retry.', minimum: 0 }),
    ),
    succeeded: s.optional(
      s.integer({ description: 'Eligible nodes whose pod succeeded in this run.', minimum: 0 }),
    ),
    failed: s.optional(s.integer({ description: 'Eligible nodes that failed in this run.', minimum: 0 })),
    pending: s.optional(
      s.integer({
        description: 'Eligible nodes not started yet (waiting for maxParallel, or not Ready).',
        minimum: 0,
      }),
    ),
    notReady: s.optional(
      s.array(s.string({ description: 'A node name.' }), {
        description:
          'Eligible nodes without a result that are not Ready: waited for until notReadyTimeoutSeconds (at most 50 listed).',
        maxItems: 50,
      }),
    ),
    nodeResults: s.optional(
      s.map(
        s.string({
          description: 'Succeeded or Failed; Pending for a node to run under newNodes: Ignore.',
          enum: ['Pending', 'Succeeded', 'Failed'] as const,
        }),
        {
          description:
            'Durable per-node results of this run (about 30 bytes per node), recorded before the pods may be deleted; nodes that no longer exist are forgotten.',
        },
      ),
    ),
    failedNodes: s.optional(
      s.array(
        s.object(
          {
            node: s.string({ description: 'The node.' }),
            reason: s.string({
              description:
                'Why it failed: BackoffLimitExceeded, DeadlineExceeded, NodeNotReady, NodeDeleted or DrainTimeout.',
            }),
            message: s.optional(s.string({ description: 'Details.', maxLength: 512 })),
          },
          { description: 'A node that failed or went away.' },
        ),
        {
          description: 'Nodes that failed or were deleted mid-run, with reasons (the first 50).',
          maxItems: 50,
        },
      ),
    ),
    draining: s.optional(
      s.map(s.string({ description: 'When the node was taken.', format: 'date-time' }), {
        description:
          'With cordon or drain: nodes cordoned and being drained whose pod has not started yet, with when that began (the drain timeout counts from it).',
      }),
    ),
    cordonedNodes: s.optional(
      s.array(s.string({ description: 'A node name.' }), {
        description:
          'Nodes this DaemonJob cordoned that failed and stay cordoned (the first 50); each keeps a maxParallel slot until it is uncordoned (kubectl uncordon).',
        maxItems: 50,
      }),
    ),
    lastScheduleTime: s.optional(
      s.string({
        description: 'With a schedule: the scheduled time of the current run, the last one started.',
        format: 'date-time',
      }),
    ),
    lastSkippedScheduleTime: s.optional(
      s.string({
        description:
          'With a schedule: the last scheduled time that did not start when it came (the previous run was active under Forbid, or startingDeadlineSeconds passed); an Event says which.',
        format: 'date-time',
      }),
    ),
    runs: s.optional(
      s.array(
        s.object(
          {
            scheduledTime: s.string({ description: 'The scheduled time of the run.', format: 'date-time' }),
            templateHash: s.string({ description: 'The run hash its pods are labelled with.' }),
            startTime: s.optional(s.string({ description: 'When it started.', format: 'date-time' })),
            completionTime: s.optional(
              s.string({ description: 'When it finished or was replaced.', format: 'date-time' }),
            ),
            result: s.string({
              description:
                'Complete, Failed, or Replaced (ended by the next scheduled run under concurrencyPolicy Replace).',
              enum: ['Complete', 'Failed', 'Replaced'] as const,
            }),
            desired: s.integer({ description: 'Eligible nodes.', minimum: 0 }),
            succeeded: s.integer({ description: 'Nodes that succeeded.', minimum: 0 }),
            failed: s.integer({ description: 'Nodes that failed.', minimum: 0 }),
          },
          { description: 'An earlier scheduled run.' },
        ),
        {
          description:
            'With a schedule: earlier runs, newest first, up to successfulRunsHistoryLimit completed and failedRunsHistoryLimit failed or replaced ones; the current run is in the fields above.',
          maxItems: 100,
        },
      ),
    ),
    conditions: s.optional(conditionsSchema),
  },
  { description: 'DaemonJobStatus reports the current run across the nodes.' },
);

export type DaemonJobSpec = Infer<typeof daemonJobSpec>;
export type DaemonJobStatus = Infer<typeof daemonJobStatus>;

export const DaemonJobKind: KindDefinition = {
  kind: 'DaemonJob',
  plural: 'daemonjobs',
  singular: 'daemonjob',
  shortNames: ['dj'],
  description:
    'DaemonJob runs a pod to completion once on every eligible node, including nodes that join later (node setup, host clean-up, image pre-pull, audits).',
  spec: daemonJobSpec,
  status: daemonJobStatus,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Desired', type: 'integer', jsonPath: '.status.desired' },
    { name: 'Active', type: 'integer', jsonPath: '.status.active' },
    { name: 'Succeeded', type: 'integer', jsonPath: '.status.succeeded' },
    { name: 'Failed', type: 'integer', jsonPath: '.status.failed' },
    { name: 'Pending', type: 'integer', jsonPath: '.status.pending' },
    { name: 'Last Schedule', type: 'date', jsonPath: '.status.lastScheduleTime', priority: 1 },
    { name: 'Template', type: 'string', jsonPath: '.status.templateHash', priority: 1 },
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule', priority: 1 },
  ],
};
