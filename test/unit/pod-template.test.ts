// The strict pod template schema (generated from the API server's OpenAPI) and its generator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerSchema, envVarSchema, podTemplateSpecSchema } from '../../src/api/common.ts';
import { validate } from '../../src/api/schema.ts';
import { shortDescription, structural } from '../../tools/generate-pod-schema.ts';

const template = podTemplateSpecSchema('; defaults to Never');
const container = { name: 'm', image: 'x' };

describe('pod template validation', () => {
  const cases: [string, unknown, RegExp | null][] = [
    ['a minimal template', { spec: { containers: [container] } }, null],
    [
      'a full template',
      {
        metadata: { labels: { app: 'a' }, annotations: { note: 'x' } },
        spec: {
          restartPolicy: 'OnFailure',
          nodeSelector: { disk: 'ssd' },
          tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
          volumes: [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }],
          initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }],
          containers: [
            {
              ...container,
              env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
              resources: { limits: { cpu: 1, memory: '1Gi' }, requests: { cpu: '100m' } },
              ports: [{ containerPort: 80 }],
              readinessProbe: { httpGet: { path: '/', port: 'http' } },
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
        },
      },
      null,
    ],
    [
      'a typo in the pod spec',
      { spec: { nodeSelecter: { disk: 'ssd' }, containers: [container] } },
      /spec.nodeSelecter: unknown field/,
    ],
    [
      'a typo in a container',
      { spec: { containers: [{ ...container, imagePullPolicyy: 'Always' }] } },
      /containers\[0\].imagePullPolicyy: unknown field/,
    ],
    [
      'a typo deep inside',
      { spec: { containers: [container], affinity: { nodeAffinity: { requiredDuringScheduling: {} } } } },
      /affinity.nodeAffinity.requiredDuringScheduling: unknown field/,
    ],
    [
      'a container without a name',
      { spec: { containers: [{ image: 'x' }] } },
      /containers\[0\].name: required/,
    ],
    ['no containers', { spec: { containers: [] } }, /must list at least one container/],
    [
      'restartPolicy Always',
      { spec: { restartPolicy: 'Always', containers: [container] } },
      /Never, OnFailure/,
    ],
    [
      'a string where a list goes',
      { spec: { containers: [{ ...container, command: 'run' }] } },
      /command: must be a list/,
    ],
    [
      'an unknown metadata field',
      { metadata: { name: 'x' }, spec: { containers: [container] } },
      /metadata.name: unknown field/,
    ],
    [
      'an ephemeral container (never allowed in templates)',
      { spec: { containers: [container], ephemeralContainers: [] } },
      /ephemeralContainers: unknown field/,
    ],
  ];
  for (const [name, value, want] of cases)
    it(name, () => {
      const errors = validate(template, value, 'template');
      if (want === null) assert.deepEqual(errors, []);
      else assert.match(errors.join('\n'), want);
    });

  it('exports strict container and env schemas for other kinds', () => {
    assert.deepEqual(validate(containerSchema, container), []);
    assert.match(validate(containerSchema, { ...container, imag: 'y' }).join(), /imag: unknown field/);
    assert.match(validate(envVarSchema, { name: 'A', vaule: 'x' }).join(), /vaule: unknown field/);
    assert.equal(containerSchema.openapi['x-kubernetes-preserve-unknown-fields'], undefined);
  });
});

describe('generate-pod-schema', () => {
  const ref = (name: string) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }] });
  const schemas = {
    Pod: {
      type: 'object',
      description: 'A pod. More text here.',
      required: ['c'],
      properties: {
        c: { type: 'array', items: ref('C') },
        port: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
      },
    },
    C: {
      type: 'object',
      properties: {
        name: { type: 'string', default: '', enum: ['a'] },
        ephemeralContainers: { type: 'array' },
      },
    },
    Loop: { type: 'object', properties: { self: ref('Loop') } },
  };
  it('inlines references, maps int-or-string, drops defaults, enums and ephemeral containers', () => {
    assert.deepEqual(structural(schemas, ref('Pod')), {
      type: 'object',
      required: ['c'],
      properties: {
        c: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
        port: { 'x-kubernetes-int-or-string': true },
      },
    });
  });
  it('refuses a recursive schema', () => {
    assert.throws(() => structural(schemas, ref('Loop')), /recursive schema: Loop → Loop/);
  });
  it('keeps the first sentence of a description', () => {
    assert.equal(shortDescription('Name of the container. Must be unique.\nMore.'), 'Name of the container.');
    assert.equal(shortDescription('x'.repeat(300))?.length, 160);
  });
});
