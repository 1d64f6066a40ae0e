// The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json. Operations marked
// `x-bosun-scope` need a token with that scope; the tests enumerate them from here.
import { PREVIEW_PHASES, previewSpec } from '../../api/preview.ts';
import type { OpenApi } from '../../api/schema.ts';
import { DEFAULT_LIMIT, MAX_LIMIT } from './query.ts';

type Json = Record<string, unknown>;

/** The CRD schema of a field without Kubernetes' extensions (JSON Schema 2020-12 keywords only). */
function jsonSchema(o: OpenApi): Json {
  const out: Json = {};
  for (const key of [
    'type',
    'description',
    'enum',
    'pattern',
    'minimum',
    'maximum',
    'minLength',
    'maxLength',
  ] as const)
    if (o[key] !== undefined) out[key] = o[key];
  return out;
}

const specProps = previewSpec.openapi.properties ?? {};
const createBody: Json = {
  type: 'object',
  description:
    'The preview to create; its name comes from the repository, branch or pull request and commit (previewPer).',
  required: ['repository', 'branch', 'commit'],
  additionalProperties: false,
  properties: Object.fromEntries(
    ['repository', 'branch', 'commit', 'pullRequest', 'targetBranch', 'state', 'template'].map((k) => [
      k,
      jsonSchema(specProps[k] ?? {}),
    ]),
  ),
};

const nullable = (type: string, extra: Json = {}) => ({ type: [type, 'null'], ...extra });

const forgeLinks = {
  type: 'object',
  additionalProperties: false,
  required: ['commit', 'pullRequest'],
  properties: { commit: nullable('string'), pullRequest: nullable('string') },
  description: 'The commit and the pull request on the forge, where the repository is known.',
};

const schemas: Json = {
  Error: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'reason', 'message'],
        additionalProperties: false,
        properties: {
          code: { type: 'integer', minimum: 400, maximum: 599 },
          reason: { type: 'string', description: 'CamelCase, e.g. NotFound, Invalid, Unauthorized.' },
          message: { type: 'string', description: 'What went wrong and what to fix.' },
          fields: {
            type: 'array',
            items: { type: 'string' },
            description: 'Each invalid field, with its path.',
          },
        },
      },
    },
  },
  PreviewView: {
    type: 'object',
    additionalProperties: false,
    required: [
      'namespace',
      'name',
      'repository',
      'forgeRepository',
      'branch',
      'targetBranch',
      'pullRequest',
      'commit',
      'state',
      'phase',
      'initStatus',
      'buildStatus',
      'url',
      'createdAt',
      'lastScaled',
      'ready',
      'links',
    ],
    properties: {
      namespace: { type: 'string' },
      name: { type: 'string' },
      repository: { type: 'string', description: 'The PreviewRepository object.' },
      forgeRepository: nullable('string', {
        description: 'owner/name on the forge; null if the repository is unknown.',
      }),
      branch: { type: 'string' },
      targetBranch: nullable('string'),
      pullRequest: nullable('integer', { minimum: 1 }),
      commit: { type: 'string' },
      state: { enum: ['Running', 'Stopped'] },
      phase: { enum: [...PREVIEW_PHASES] },
      initStatus: nullable('string'),
      buildStatus: nullable('string'),
      url: nullable('string'),
      createdAt: nullable('string', { format: 'date-time' }),
      lastScaled: nullable('string', { format: 'date-time' }),
      ready: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['status', 'reason', 'message'],
            properties: {
              status: { enum: ['True', 'False', 'Unknown'] },
              reason: nullable('string'),
              message: nullable('string'),
            },
          },
        ],
      },
      links: forgeLinks,
    },
  },
  PreviewList: {
    type: 'object',
    additionalProperties: false,
    required: ['items', 'total'],
    properties: {
      items: { type: 'array', items: { $ref: '#/components/schemas/PreviewView' } },
      total: { type: 'integer', minimum: 0, description: 'Previews matching the filters, on every page.' },
      continue: { type: 'string', description: 'Pass as `continue` for the next page; absent on the last.' },
    },
  },
  ApprovalView: {
    type: 'object',
    additionalProperties: false,
    description:
      "A fork's pull request whose newest commit waits for its preview. To approve it, create the preview with these fields (createPreview).",
    required: [
      'namespace',
      'repository',
      'forgeRepository',
      'pullRequest',
      'commit',
      'branch',
      'targetBranch',
      'fork',
      'updatedAt',
      'links',
    ],
    properties: {
      namespace: { type: 'string' },
      repository: { type: 'string', description: 'The PreviewRepository object.' },
      forgeRepository: nullable('string', { description: 'owner/name on the forge.' }),
      pullRequest: { type: 'integer', minimum: 1 },
      commit: { type: 'string' },
      branch: { type: 'string', description: 'The head branch, in the fork.' },
      targetBranch: { type: 'string' },
      fork: { type: 'string', description: 'The fork ("owner/name"); empty when it was deleted.' },
      updatedAt: { type: 'string', format: 'date-time' },
      links: forgeLinks,
    },
  },
  ApprovalList: {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: { $ref: '#/components/schemas/ApprovalView' } } },
  },
  CreatePreview: createBody,
  WhoAmI: {
    type: 'object',
    additionalProperties: false,
    required: ['authenticated', 'scopes'],
    properties: {
      authenticated: { type: 'boolean' },
      subject: {
        type: 'string',
        description: 'The key of the token in the tokens Secret, or the GitHub login of a signed-in person.',
      },
      scopes: {
        type: 'array',
        items: { enum: ['read', 'operate', 'admin'] },
        description:
          'What the caller may do everywhere; a GitHub login also operates where its repository permission allows.',
      },
      via: { enum: ['github'], description: 'Signed in with GitHub (a session cookie).' },
      csrfToken: {
        type: 'string',
        description: 'With a GitHub login: send it as the X-Bosun-CSRF header of every change.',
      },
      loginUrl: {
        type: 'string',
        description: 'Where a browser signs in with GitHub, when it is configured.',
      },
    },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(ref('Error'), description);
const queryParam = (name: string, description: string, schema: Json = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const nsName = [pathParam('namespace', 'The namespace.'), pathParam('name', 'The Preview.')];
const readAuth = { security: [{}, { bearerAuth: [] }], 'x-bosun-scope': 'read' };
const operateAuth = { security: [{ bearerAuth: [] }], 'x-bosun-scope': 'operate' };
const serverErrors = {
  '502': error('The Kubernetes API server failed, or refused this server (its RBAC).'),
  '503': error('The watch caches have not synced yet; retry.'),
};
const authErrors = {
  '401': error('No token, a malformed Authorization header or an unknown token.'),
  '403': error('The token lacks the scope.'),
};

const action = (verb: string, description: string) => ({
  post: {
    operationId: `${verb}Preview`,
    summary: description,
    tags: ['previews'],
    ...operateAuth,
    parameters: nsName,
    responses: {
      '202': json(ref('PreviewView'), 'Accepted: the operator acts on it.'),
      '400': error('A bad namespace or name.'),
      ...authErrors,
      ...serverErrors,
      '404': error('No such preview, or a namespace this server does not serve.'),
      '415': error('A body that is not JSON (none is needed).'),
    },
  },
});

const filterParams = [
  queryParam('namespace', 'Only this namespace.'),
  queryParam('repository', 'Only this PreviewRepository.'),
  queryParam('branch', 'Only this branch (exact).'),
  queryParam('pullRequest', 'Only this pull request.', { type: 'integer', minimum: 1 }),
  queryParam('phase', 'Only this phase.', { enum: [...PREVIEW_PHASES] }),
  queryParam('q', 'Name or branch containing it, or commit starting with it.'),
];

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Bosun previews API',
    version: 'v1',
    description:
      'Previews read from the watch cache, changes written through the Kubernetes API server. Errors are `{"error": {"code", "reason", "message"}}`.',
  },
  servers: [{ url: '/' }],
  components: {
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        description: 'A token from the tokens Secret (`--tokens-secret`), "<scope>:<token>" per key.',
      },
      githubSession: {
        type: 'apiKey',
        in: 'cookie',
        name: 'bosun_session',
        description:
          'Set by signing in with GitHub (`/auth/github/login`); changes also need the X-Bosun-CSRF header (whoami.csrfToken).',
      },
    },
    schemas,
  },
  paths: {
    '/api/v1/previews': {
      get: {
        operationId: 'listPreviews',
        summary: 'Previews: branches first, then pull requests, newest first.',
        tags: ['previews'],
        ...readAuth,
        parameters: [
          ...filterParams,
          queryParam('limit', `Page size (default ${DEFAULT_LIMIT}).`, {
            type: 'integer',
            minimum: 1,
            maximum: MAX_LIMIT,
          }),
          queryParam('continue', 'The `continue` of the previous page.'),
        ],
        responses: {
          '200': json(ref('PreviewList'), 'One page.'),
          '400': error('A bad filter, limit or continue token.'),
          ...authErrors,
          ...serverErrors,
          '404': error('A namespace this server does not serve.'),
        },
      },
    },
    '/api/v1/namespaces/{namespace}/previews': {
      post: {
        operationId: 'createPreview',
        summary:
          'Creates the preview of a commit (200 when it exists; per pull request: its commit is updated).',
        tags: ['previews'],
        ...operateAuth,
        parameters: [pathParam('namespace', 'The namespace of the repository.')],
        requestBody: { required: true, content: { 'application/json': { schema: ref('CreatePreview') } } },
        responses: {
          '200': json(ref('PreviewView'), 'The preview existed (per pull request: now at this commit).'),
          '201': json(ref('PreviewView'), 'Created.'),
          '400': error('Not a JSON object, or a bad namespace.'),
          ...authErrors,
          '403': error(
            'The token lacks the scope, or a GitHub login lacks write permission on the repository or chose a template.',
          ),
          ...serverErrors,
          '404': error('No such PreviewRepository, or a namespace this server does not serve.'),
          '413': error('A body over 1 MiB.'),
          '415': error('A body that is not application/json.'),
          '422': error('Invalid fields (listed in error.fields).'),
        },
      },
    },
    '/api/v1/approvals': {
      get: {
        operationId: 'listApprovals',
        summary:
          'Pull requests from forks (forkPolicy: Ignore) whose newest commit has no preview yet, newest first: each waits for someone to create it.',
        tags: ['previews'],
        ...readAuth,
        parameters: filterParams.slice(0, 2),
        responses: {
          '200': json(ref('ApprovalList'), 'Every one the caller may read.'),
          '400': error('An unknown or repeated query parameter, or a bad namespace.'),
          ...authErrors,
          ...serverErrors,
          '404': error('A namespace this server does not serve.'),
        },
      },
    },
    '/api/v1/namespaces/{namespace}/previews/{name}': {
      get: {
        operationId: 'getPreview',
        summary: 'One preview.',
        tags: ['previews'],
        ...readAuth,
        parameters: nsName,
        responses: {
          '200': json(ref('PreviewView'), 'The preview.'),
          '400': error('A bad namespace or name.'),
          ...authErrors,
          ...serverErrors,
          '404': error('No such preview.'),
        },
      },
      delete: {
        operationId: 'undeployPreview',
        summary: 'Undeploys: deletes the Preview; its cleanup Job runs, then everything labelled is deleted.',
        tags: ['previews'],
        ...operateAuth,
        parameters: nsName,
        responses: {
          '202': json(ref('PreviewView'), 'Accepted: the preview as it was when deleted.'),
          '400': error('A bad namespace or name.'),
          ...authErrors,
          ...serverErrors,
          '404': error('No such preview.'),
        },
      },
    },
    '/api/v1/namespaces/{namespace}/previews/{name}/start': action('start', 'Sets spec.state to Running.'),
    '/api/v1/namespaces/{namespace}/previews/{name}/stop': action('stop', 'Sets spec.state to Stopped.'),
    '/api/v1/namespaces/{namespace}/previews/{name}/reset': action(
      'reset',
      'Re-runs initialization (sets the bosun.dev/reset annotation to a new value).',
    ),
    '/api/v1/namespaces/{namespace}/previews/{name}/logs': {
      get: {
        operationId: 'previewLogs',
        summary:
          "The log of a step's newest pod, as text; with follow, until the pod ends or the client leaves.",
        tags: ['previews'],
        ...readAuth,
        parameters: [
          ...nsName,
          queryParam('step', 'build, init, app (default) or cleanup.', {
            enum: ['build', 'init', 'app', 'cleanup'],
          }),
          queryParam('follow', 'Keep streaming.', { enum: ['true', 'false'] }),
          queryParam('container', "A container of the pod (default: the pod's first)."),
        ],
        responses: {
          '200': { description: 'The log.', content: { 'text/plain': { schema: { type: 'string' } } } },
          '400': error('A bad step, follow or container.'),
          ...authErrors,
          ...serverErrors,
          '404': error('No such preview, or no pod for that step.'),
          '409': error('The pod has no log yet (its container is not running).'),
        },
      },
    },
    '/api/v1/events': {
      get: {
        operationId: 'previewEvents',
        summary:
          'Server-sent events: `snapshot` ({items}), then `upsert` (a PreviewView) and `delete` ({namespace, name}); `approvals` ({namespace, repository}) when the pull requests from forks waiting there change (read listApprovals again); a comment every 15 s.',
        tags: ['previews'],
        ...readAuth,
        parameters: filterParams.slice(0, 2),
        responses: {
          '200': {
            description: 'The event stream.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '400': error('A bad filter.'),
          ...authErrors,
          ...serverErrors,
          '404': error('A namespace this server does not serve.'),
        },
      },
    },
    '/api/v1/whoami': {
      get: {
        operationId: 'whoami',
        summary: 'Who the token is and what it may do.',
        tags: ['auth'],
        security: [{}, { bearerAuth: [] }],
        responses: { '200': json(ref('WhoAmI'), 'The identity.'), '401': authErrors['401'] },
      },
    },
    '/api/v1/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document.',
        tags: ['meta'],
        security: [{}],
        responses: {
          '200': {
            description: 'OpenAPI 3.1.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  },
} as const;
