// PreviewTemplate: how one kind of application is previewed — build, initialize, app, ingress,
// cleanup and extra resources, with a fixed set of `${variables}` in string values.
import { podTemplateSpecSchema } from './common.ts';
import type { KindDefinition } from './crd.ts';
import { type Infer, s } from './schema.ts';

const jobSettings = {
  backoffLimit: (fallback: number) =>
    s.optional(
      s.integer({
        description: `Retries before the Job counts as failed (default ${fallback}).`,
        minimum: 0,
        maximum: 100,
      }),
    ),
  activeDeadlineSeconds: s.optional(
    s.integer({ description: 'Seconds the Job may run before it fails.', minimum: 1, format: 'int64' }),
  ),
};

const jobStep = (what: string, backoff: number) =>
  s.object(
    {
      template: podTemplateSpecSchema('; defaults to Never'),
      backoffLimit: jobSettings.backoffLimit(backoff),
      activeDeadlineSeconds: jobSettings.activeDeadlineSeconds,
    },
    { description: what },
  );

export const envVarSchema = s.object(
  {
    name: s.string({ description: 'Environment variable name.', pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$' }),
    value: s.string({ description: 'Its value; may use ${variables}.' }),
  },
  { description: 'An environment variable set in every container.' },
);

export const secretEnvVarSchema = s.object(
  {
    name: s.string({ description: 'Environment variable name.', pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$' }),
    secretName: s.string({ description: 'A Secret in the preview namespace.', minLength: 1 }),
    key: s.string({ description: 'The key in that Secret.', minLength: 1 }),
  },
  { description: 'An environment variable read from a Secret, set in every container.' },
);

export const previewTemplateSpec = s.object(
  {
    build: s.optional(
      s.object(
        {
          template: podTemplateSpecSchema('; defaults to Never'),
          image: s.string({
            description:
              'The image reference the build pushes, e.g. registry.example.com/${repository}:${commit}. It becomes ${image}.',
            minLength: 1,
          }),
          backoffLimit: jobSettings.backoffLimit(3),
          activeDeadlineSeconds: jobSettings.activeDeadlineSeconds,
        },
        { description: 'An optional Job that builds and pushes the image of the commit.' },
      ),
    ),
    initialize: s.optional(
      jobStep(
        'An optional Job run once before the app may start (e.g. create and seed a database), queued under maxInitializing. Default deadline 1200 s.',
        0,
      ),
    ),
    app: s.object(
      {
        template: podTemplateSpecSchema('; app pods use Always'),
        port: s.integer({
          description: 'The container port the Service and Ingress send traffic to.',
          minimum: 1,
          maximum: 65535,
        }),
        replicas: s.optional(
          s.integer({
            description: 'Replicas while the preview runs (default 1).',
            minimum: 1,
            maximum: 100,
          }),
        ),
      },
      {
        description:
          "The app's Deployment: pod template and port. A container without an image gets ${image}.",
      },
    ),
    ingress: s.optional(
      s.object(
        {
          domain: s.string({
            description: 'Wildcard domain: the preview is served at <slug>.<domain>.',
            pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$',
          }),
          className: s.optional(s.string({ description: 'The IngressClass.' })),
          tlsSecretName: s.optional(
            s.string({
              description: 'A TLS Secret (a wildcard certificate) for the host; the URL is https.',
            }),
          ),
          annotations: s.optional(
            s.map(s.string({ description: 'Annotation value.' }), {
              description: 'Annotations of the Ingress.',
            }),
          ),
        },
        { description: 'An Ingress for the app at <slug>.<domain>.' },
      ),
    ),
    cleanup: s.optional(
      jobStep(
        'An optional Job run on undeploy (e.g. drop the database); it must succeed before resources go.',
        6,
      ),
    ),
    resources: s.optional(
      s.array(
        s.preserved({
          description:
            'A manifest (apiVersion, kind, metadata.name) created in the preview namespace; use ${preview} in its name.',
        }),
        {
          description: 'Extra resources: ConfigMaps, Secrets, PVCs, a database custom resource...',
          maxItems: 50,
        },
      ),
    ),
    env: s.optional(
      s.array(envVarSchema, { description: 'Environment for every container.', maxItems: 100 }),
    ),
    secretEnv: s.optional(
      s.array(secretEnvVarSchema, {
        description: 'Environment from Secrets for every container.',
        maxItems: 100,
      }),
    ),
  },
  { description: 'PreviewTemplateSpec describes how to build, initialize, serve and clean up one preview.' },
);

export type PreviewTemplateSpec = Infer<typeof previewTemplateSpec>;

export const PreviewTemplateKind: KindDefinition = {
  kind: 'PreviewTemplate',
  plural: 'previewtemplates',
  singular: 'previewtemplate',
  shortNames: ['pvt'],
  description:
    'PreviewTemplate describes how one kind of application is previewed: build, initialize, app, ingress, cleanup and extra resources.',
  spec: previewTemplateSpec,
  status: s.object({}, { description: 'PreviewTemplate has no status.', preserveUnknownFields: true }),
  printerColumns: [
    { name: 'Domain', type: 'string', jsonPath: '.spec.ingress.domain' },
    { name: 'Port', type: 'integer', jsonPath: '.spec.app.port' },
  ],
};
