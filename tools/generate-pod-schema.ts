// Writes src/api/pod-spec.openapi.json: the core/v1 PodSpec as a structural schema (no $ref, no
// unknown fields kept) for Bosun's CRDs, from a real API server's OpenAPI v3 document.
//
//   node tools/generate-pod-schema.ts [--kubeconfig FILE] [--from core-v1-openapi.json]
//
// Run it against `bosun dev up` (the Kubernetes version the project builds) when that version
// changes, then `npm run generate`. Descriptions are kept for the fields of the pod and of its
// containers only, cut to their first sentence (etcd stores a CRD in one object of at most
// ~1.5 MB, and `kubectl apply` keeps a copy in a 256 KiB annotation); upstream
// defaults, enums and merge hints are dropped: the API server applies and checks those itself when
// Bosun creates a pod, and a CRD that repeated them would be large and tied to one release.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { OpenApi } from '../src/api/schema.ts';
import { KubeClient } from '../src/runtime/kube-client.ts';

const OUT = new URL('../src/api/pod-spec.openapi.json', import.meta.url);
const PREFIX = '#/components/schemas/';
/** Longest description kept; the first sentence of most fields fits. */
const MAX_DESCRIPTION = 160;
/** Not allowed in pod templates (the API server rejects them there). */
const DROPPED_FIELDS = new Set(['ephemeralContainers']);
const KEPT_FORMATS = new Set(['int32', 'int64', 'date-time', 'byte', 'double']);
const INT_OR_STRING = new Set([
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  'io.k8s.apimachinery.pkg.api.resource.Quantity',
]);

// biome-ignore lint/suspicious/noExplicitAny: upstream OpenAPI, read as JSON
type Upstream = Record<string, any>;

export function shortDescription(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const first = text.split(/\n|(?<=[a-z0-9)]\.)\s/)[0]?.trim() ?? '';
  return first.length > MAX_DESCRIPTION ? `${first.slice(0, MAX_DESCRIPTION - 1).trimEnd()}…` : first;
}

/** Types whose fields keep their descriptions (for `kubectl explain`). */
const DESCRIBED = new Set(['io.k8s.api.core.v1.PodSpec', 'io.k8s.api.core.v1.Container']);

/** Converts one upstream schema, inlining references; `path` (type names) detects cycles. */
export function structural(schemas: Upstream, node: Upstream, path: string[] = [], describe = false): OpenApi {
  const ref: string | undefined = node.$ref ?? node.allOf?.[0]?.$ref;
  const description = describe ? shortDescription(node.description) : undefined;
  if (ref) {
    const name = ref.slice(PREFIX.length);
    if (path.includes(name)) throw new Error(`recursive schema: ${[...path, name].join(' → ')}`);
    const inlined = INT_OR_STRING.has(name)
      ? { 'x-kubernetes-int-or-string': true }
      : name === 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'
        ? objectMeta()
        : structural(schemas, target(schemas, ref), [...path, name]);
    return { ...inlined, ...(description ? { description } : {}) };
  }
  return structuralType(schemas, node, path, description);
}

function target(schemas: Upstream, ref: string): Upstream {
  const found = schemas[ref.slice(PREFIX.length)];
  if (!found) throw new Error(`unknown reference ${ref}`);
  return found;
}

function structuralType(schemas: Upstream, node: Upstream, path: string[], description?: string): OpenApi {
  const describeFields = DESCRIBED.has(path.at(-1) ?? '');
  const out: OpenApi = {};
  if (node.type) out.type = node.type;
  if (description) out.description = description;
  if (node.format && KEPT_FORMATS.has(node.format)) out.format = node.format;
  if (node.properties) {
    out.properties = {};
    for (const [k, v] of Object.entries(node.properties as Upstream)) {
      if (DROPPED_FIELDS.has(k)) continue;
      out.properties[k] = structural(schemas, v, path, describeFields);
    }
  }
  if (node.required?.length) out.required = node.required.filter((k: string) => !DROPPED_FIELDS.has(k));
  if (node.items) out.items = structural(schemas, node.items, path);
  if (node.additionalProperties && typeof node.additionalProperties === 'object')
    out.additionalProperties = structural(schemas, node.additionalProperties, path);
  if (!out.type && !out['x-kubernetes-int-or-string'])
    throw new Error(`no type at ${path.join(' → ')}: ${JSON.stringify(node).slice(0, 200)}`);
  return out;
}

/** Embedded ObjectMeta (a volume claim template's): only labels and annotations mean anything there. */
function objectMeta(): OpenApi {
  const strings = (what: string): OpenApi => ({
    type: 'object',
    description: what,
    additionalProperties: { type: 'string' },
  });
  return {
    type: 'object',
    properties: { labels: strings('Labels.'), annotations: strings('Annotations.') },
  };
}

async function readCoreV1(args: { kubeconfig?: string; from?: string }): Promise<Upstream> {
  if (args.from) return JSON.parse(readFileSync(args.from, 'utf8'));
  const client = KubeClient.fromKubeconfig(args.kubeconfig);
  return client.request<Upstream>('GET', '/openapi/v3/api/v1');
}

async function main() {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, from: { type: 'string' } } });
  const doc = await readCoreV1(values);
  const schemas = doc.components.schemas as Upstream;
  const podSpec = structural(schemas, { $ref: `${PREFIX}io.k8s.api.core.v1.PodSpec` }, [], true);
  const text = `${JSON.stringify({ source: `${doc.info?.title ?? 'Kubernetes'} ${doc.info?.version ?? ''}`.trim(), podSpec })}\n`;
  writeFileSync(OUT, text);
  // In the project's JSON style, so that `npm run lint` passes on the committed file.
  execFileSync(fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url)), ['format', '--write', fileURLToPath(OUT)], { stdio: 'inherit' });
  process.stdout.write(`wrote ${OUT.pathname} (${text.length} bytes)\n`);
}

if (import.meta.main) await main();
