// Preview: one deployed commit of one branch or pull request.
import { conditionsSchema } from './common.ts';
import type { KindDefinition } from './crd.ts';
import { type Infer, s } from './schema.ts';

export const PREVIEW_PHASES = [
  'Pending',
  'Building',
  'Initializing',
  'Stopped',
  'Starting',
  'Running',
  'Stopping',
  'Failed',
  'Undeploying',
] as const;

export const INIT_STATUSES = ['todo', 'initializing', 'ready', 'failed', 'dropping'] as const;

const BRANCH = '^[^\\s~^:?*\\[\\\\]+$';

export const previewSpec = s.object(
  {
    repository: s.string({
      description: 'The PreviewRepository (in this namespace) this preview belongs to.',
      minLength: 1,
    }),
    template: s.optional(
      s.string({ description: "The PreviewTemplate; default: the repository's (or its override's)." }),
    ),
    branch: s.string({
      description: 'The branch: the pushed branch, or the head branch of the pull request.',
      minLength: 1,
      maxLength: 250,
      pattern: BRANCH,
    }),
    targetBranch: s.optional(
      s.string({
        description: 'The base branch of the pull request.',
        minLength: 1,
        maxLength: 250,
        pattern: BRANCH,
      }),
    ),
    pullRequest: s.optional(
      s.integer({ description: 'The pull request number.', minimum: 1, format: 'int64' }),
    ),
    commit: s.string({
      description: 'The commit to deploy (hex SHA, 7 to 64 characters). A new commit rebuilds in place.',
      pattern: '^[0-9a-f]{7,64}$',
    }),
    state: s.optional(
      s.string({
        description:
          'Running or Stopped (default): the one switch that start and stop write. maxRunning may set it back to Stopped.',
        enum: ['Running', 'Stopped'] as const,
        default: 'Stopped',
      }),
    ),
  },
  {
    description: 'PreviewSpec names the commit to preview.',
    rules: [
      {
        rule: 'self.repository == oldSelf.repository',
        message: 'spec.repository cannot change: create a new Preview for another repository',
      },
      {
        rule: 'has(self.pullRequest) == has(self.targetBranch)',
        message:
          'set pullRequest and targetBranch together (a pull request preview), or neither (a branch preview)',
        check: (p) => (p.pullRequest === undefined) === (p.targetBranch === undefined),
      },
    ],
  },
);

const time = (what: string) => s.optional(s.string({ description: what, format: 'date-time' }));
const text = (what: string) => s.optional(s.string({ description: what }));

export const previewStatus = s.object(
  {
    observedGeneration: s.optional(
      s.integer({ description: 'The generation last acted on.', minimum: 0, format: 'int64' }),
    ),
    phase: s.optional(
      s.string({ description: `One of ${PREVIEW_PHASES.join(', ')}.`, enum: PREVIEW_PHASES }),
    ),
    url: text('Where the preview is served.'),
    slug: text('The host label: <slug>.<domain>.'),
    template: text('The PreviewTemplate in use (kept for the cleanup Job).'),
    admittedAt: time('When the preview got a deploy slot under maxDeployed.'),
    appStatus: s.optional(
      s.string({
        description: 'building, deployed or error.',
        enum: ['building', 'deployed', 'error'] as const,
      }),
    ),
    buildStatus: s.optional(
      s.string({
        description: 'building, success or error.',
        enum: ['building', 'success', 'error'] as const,
      }),
    ),
    buildJobName: text('The build Job of buildCommit.'),
    buildCommit: text('The commit of the last build.'),
    buildStartedAt: time('When the last build started.'),
    image: text('The image the app runs (${image}).'),
    initStatus: s.optional(
      s.string({ description: `runboat's init status: ${INIT_STATUSES.join(', ')}.`, enum: INIT_STATUSES }),
    ),
    initQueuedAt: time('When the preview joined the initialization queue (FIFO).'),
    initJobName: text('The initialization Job of the current attempt.'),
    initAttempt: s.optional(
      s.integer({ description: 'Initialization attempts (a reset adds one).', minimum: 0 }),
    ),
    resetToken: text('The bosun.dev/reset annotation value last acted on.'),
    deployedCommit: text('The commit the app resources were last applied for.'),
    rejectedHash: text(
      'Hash of the app resources, or of the cleanup Job, the API server rejected; not sent again until it changes.',
    ),
    replicas: s.optional(s.integer({ description: 'Replicas asked of the Deployment.', minimum: 0 })),
    lastScaled: time('When the preview was last started or stopped (least recently used goes first).'),
    cleanupJobName: text('The cleanup Job, while undeploying.'),
    cleanupStatus: s.optional(
      s.string({
        description: 'running, succeeded or failed.',
        enum: ['running', 'succeeded', 'failed'] as const,
      }),
    ),
    buildAttempt: s.optional(
      s.integer({
        description: 'Build attempts of buildCommit (a reset after a failed build adds one).',
        minimum: 0,
      }),
    ),
    conditions: s.optional(conditionsSchema),
  },
  { description: 'PreviewStatus reports where the preview is in its lifecycle.' },
);

export type PreviewSpec = Infer<typeof previewSpec>;
export type PreviewStatus = Infer<typeof previewStatus>;
export type PreviewPhase = (typeof PREVIEW_PHASES)[number];
export type InitStatus = (typeof INIT_STATUSES)[number];

export const PreviewKind: KindDefinition = {
  kind: 'Preview',
  plural: 'previews',
  singular: 'preview',
  shortNames: ['pv'],
  description: 'Preview is one deployed commit of one branch or pull request, built, initialized and served.',
  spec: previewSpec,
  status: previewStatus,
  rules: [
    {
      // The preview's Service takes its name, and Service names are DNS-1035 labels. Checked when
      // the Preview is created (a name never changes), so one made before this rule can still be
      // updated and released.
      rule: "oldSelf.hasValue() || self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
      optionalOldSelf: true,
      message:
        "a Preview's name names its Service: use lower case letters, digits and '-', starting with a letter and ending with a letter or digit (no dots)",
    },
  ],
  printerColumns: [
    { name: 'Repository', type: 'string', jsonPath: '.spec.repository' },
    { name: 'Branch', type: 'string', jsonPath: '.spec.branch' },
    { name: 'PR', type: 'integer', jsonPath: '.spec.pullRequest' },
    { name: 'Commit', type: 'string', jsonPath: '.spec.commit', priority: 1 },
    { name: 'State', type: 'string', jsonPath: '.spec.state' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Init', type: 'string', jsonPath: '.status.initStatus', priority: 1 },
    { name: 'URL', type: 'string', jsonPath: '.status.url' },
  ],
};
