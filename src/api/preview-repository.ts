// PreviewRepository: which repository and branches get previews, with which template, one preview
// per commit or per pull request, under which capacity caps.
import type { KindDefinition } from './crd.ts';
import { envVarSchema } from './preview-template.ts';
import { type Infer, s } from './schema.ts';

const secretKeyRef = (what: string) =>
  s.object(
    {
      name: s.string({ description: 'A Secret in the repository namespace.', minLength: 1 }),
      key: s.string({ description: 'The key in that Secret.', minLength: 1 }),
    },
    { description: what },
  );

const branchPatterns = (what: string) =>
  s.array(s.string({ description: 'A branch name; * matches any characters, / included.', minLength: 1 }), {
    description: what,
    maxItems: 100,
  });

const cap = (what: string) => s.optional(s.integer({ description: what, minimum: 0, maximum: 100000 }));

export const capacitySchema = s.object(
  {
    maxInitializing: cap('Initialization Jobs at once; the oldest waiting preview goes first.'),
    maxRunning: cap('Running previews; starting one more stops the least recently started.'),
    maxDeployed: cap(
      'Deployed previews; past it the least recently used stopped or failed previews are undeployed (never the newest of a branch), or a new preview waits in Pending.',
    ),
  },
  { description: 'Capacity caps; an unset cap takes the operator-wide default.' },
);

export const previewRepositorySpec = s.object(
  {
    forge: s.optional(
      s.string({
        description: 'Where the repository lives (github).',
        enum: ['github'] as const,
        default: 'github',
      }),
    ),
    repository: s.string({
      description: 'owner/name on the forge.',
      pattern: '^[A-Za-z0-9][-A-Za-z0-9_.]*/[-A-Za-z0-9_.]+$',
      maxLength: 200,
    }),
    template: s.string({
      description: 'The PreviewTemplate (in this namespace) used unless an override names another.',
      minLength: 1,
    }),
    previewPer: s.optional(
      s.string({
        description:
          'Commit (default): each pushed commit gets its own preview, older ones stay until the caps undeploy them. PullRequest: one preview per pull request, rebuilt in place on each push (same URL).',
        enum: ['Commit', 'PullRequest'] as const,
        default: 'Commit',
      }),
    ),
    branches: s.optional(branchPatterns('Branches whose pushes get previews (none by default).')),
    pullRequestTargets: s.optional(
      branchPatterns('Base branches whose pull requests get previews (none by default).'),
    ),
    forkPolicy: s.optional(
      s.string({
        description:
          'Pull requests from forks run the code of people who cannot push to the repository. Ignore (default): the webhook creates and moves no preview for them, and someone allowed to operate previews approves a commit by creating its preview (bosun preview create, or the API). Preview: they get previews like any pull request, with forkTemplate when it is set.',
        enum: ['Ignore', 'Preview'] as const,
        default: 'Ignore',
      }),
    ),
    forkTemplate: s.optional(
      s.string({
        description:
          'The PreviewTemplate (in this namespace) for pull requests from forks when forkPolicy is Preview: one without secretEnv or registry credentials, say. Unset: the template that applies to the base branch.',
        minLength: 1,
      }),
    ),
    overrides: s.optional(
      s.array(
        s.object(
          {
            branches: branchPatterns(
              'Branches (the base branch, for pull requests) this override applies to.',
            ),
            template: s.optional(s.string({ description: 'Another PreviewTemplate.', minLength: 1 })),
            image: s.optional(
              s.string({ description: 'The value of ${image} when the template has no build.' }),
            ),
            env: s.optional(
              s.array(envVarSchema, { description: 'More environment for every container.', maxItems: 100 }),
            ),
            variables: s.optional(
              s.map(s.string({ description: 'Value.' }), {
                description: 'More ${variables} for the template (names: letters, digits, _).',
              }),
            ),
          },
          { description: 'Settings for matching branches; the first match wins.' },
        ),
        { description: 'Per-branch overrides, first match wins.', maxItems: 100 },
      ),
    ),
    image: s.optional(s.string({ description: 'The value of ${image} when the template has no build.' })),
    variables: s.optional(
      s.map(s.string({ description: 'Value.' }), { description: 'More ${variables} for the template.' }),
    ),
    capacity: s.optional(capacitySchema),
    credentials: s.optional(
      s.object(
        {
          tokenSecretRef: s.optional(secretKeyRef('A token for the forge API.')),
          githubApp: s.optional(
            s.object(
              {
                appId: s.integer({ description: 'The GitHub App id.', minimum: 1, format: 'int64' }),
                installationId: s.integer({
                  description: 'The installation id.',
                  minimum: 1,
                  format: 'int64',
                }),
                privateKeySecretRef: secretKeyRef('The App private key (PEM).'),
              },
              { description: 'A GitHub App installation.' },
            ),
          ),
        },
        { description: 'Forge credentials for statuses and comments: a token or a GitHub App.' },
      ),
    ),
    webhookSecretRef: s.optional(secretKeyRef('The webhook HMAC key.')),
  },
  {
    description: 'PreviewRepositorySpec says which branches and pull requests get previews, and how.',
    rules: [
      {
        rule: "!has(self.forkTemplate) || (has(self.forkPolicy) && self.forkPolicy == 'Preview')",
        message:
          'forkTemplate is used only with forkPolicy: Preview; set forkPolicy: Preview, or remove forkTemplate',
        fieldPath: '.forkTemplate',
        check: (r) => r.forkTemplate === undefined || r.forkPolicy === 'Preview',
      },
    ],
  },
);

const count = (what: string) => s.optional(s.integer({ description: what, minimum: 0 }));

/** At most this many fork pull requests are listed in a repository's status, the newest first. */
export const MAX_FORK_PULL_REQUESTS = 100;

export const forkPullRequestSchema = s.object(
  {
    number: s.integer({ description: 'The pull request number.', minimum: 1, format: 'int64' }),
    commit: s.string({ description: 'Its newest head commit (40 hex characters).', minLength: 1 }),
    branch: s.string({ description: 'The head branch, in the fork.', minLength: 1 }),
    targetBranch: s.string({ description: 'The base branch, in this repository.', minLength: 1 }),
    fork: s.string({ description: 'The fork ("owner/name"); empty when the fork was deleted.' }),
    updatedAt: s.string({
      description: "The pull request's updated_at in the last event about it.",
      format: 'date-time',
    }),
    closed: s.optional(
      s.boolean({
        description: 'Closed: kept so that a delivery older than the close cannot list it as open again.',
      }),
    ),
  },
  { description: 'A pull request from a fork, as the last webhook about it told.' },
);

export const previewRepositoryStatus = s.object(
  {
    observedGeneration: s.optional(
      s.integer({ description: 'The generation last acted on.', minimum: 0, format: 'int64' }),
    ),
    deployed: count('Deployed previews (initializing ones included).'),
    running: count('Running previews (starting and stopping included).'),
    initializing: count('Initialization Jobs running.'),
    pending: count('Previews waiting for a deploy slot.'),
    forkPullRequests: s.optional(
      s.array(forkPullRequestSchema, {
        description:
          'With forkPolicy Ignore: the pull requests from forks and their newest commit, from the webhooks, the newest first. An open one whose commit has no preview waits for approval: someone who may operate previews creates it. A closed one stays, marked closed, until newer ones push it out.',
        maxItems: MAX_FORK_PULL_REQUESTS,
      }),
    ),
  },
  {
    description:
      'PreviewRepositoryStatus counts the previews against the caps and lists the pull requests from forks.',
  },
);

export type PreviewRepositorySpec = Infer<typeof previewRepositorySpec>;
export type PreviewRepositoryStatus = Infer<typeof previewRepositoryStatus>;
export type Capacity = Infer<typeof capacitySchema>;
export type ForkPullRequest = Infer<typeof forkPullRequestSchema>;

export const PreviewRepositoryKind: KindDefinition = {
  kind: 'PreviewRepository',
  plural: 'previewrepositories',
  singular: 'previewrepository',
  shortNames: ['pvr'],
  description:
    'PreviewRepository says which branches and pull requests of a repository get previews, with which template, and under which caps.',
  spec: previewRepositorySpec,
  status: previewRepositoryStatus,
  printerColumns: [
    { name: 'Repository', type: 'string', jsonPath: '.spec.repository' },
    { name: 'Per', type: 'string', jsonPath: '.spec.previewPer' },
    { name: 'Deployed', type: 'integer', jsonPath: '.status.deployed' },
    { name: 'Running', type: 'integer', jsonPath: '.status.running' },
    { name: 'Initializing', type: 'integer', jsonPath: '.status.initializing' },
    { name: 'Pending', type: 'integer', jsonPath: '.status.pending' },
  ],
};
