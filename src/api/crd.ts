// A CustomResourceDefinition built from a kind's schema: structural, described, with CEL rules,
// the status subresource, printer columns, short names and categories.
import type { OpenApi, Schema } from './schema.ts';

export const GROUP = 'bosun.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: Schema<unknown>;
  status: Schema<unknown>;
  printerColumns: PrinterColumn[];
  /** CEL rules on the whole object (metadata.name is the only metadata they may read). */
  rules?: { rule: string; message: string; optionalOldSelf?: boolean }[];
}

export const resourceOf = (def: KindDefinition) =>
  ({ group: GROUP, version: VERSION, plural: def.plural, namespaced: true }) as const;

export function crdManifest(def: KindDefinition) {
  const schema: OpenApi = {
    type: 'object',
    description: def.description,
    properties: {
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: {
        type: 'string',
        description: 'Kind is a string value representing the REST resource this object represents.',
      },
      metadata: { type: 'object' },
      spec: def.spec.openapi,
      status: def.status.openapi,
    },
    required: ['spec'],
    ...(def.rules ? { 'x-kubernetes-validations': def.rules } : {}),
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['bosun'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...def.printerColumns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}
