// One definition per API type: the same schema value yields the CRD's OpenAPI v3 schema (with
// descriptions and CEL rules), the TypeScript type (`Infer<typeof schema>`) and a runtime check.
// CEL rules are enforced by the API server; `check` covers the structural part and any rule that
// also has a TypeScript predicate (`rules[].check`).

export interface OpenApi {
  type?: string;
  description?: string;
  properties?: Record<string, OpenApi>;
  required?: string[];
  items?: OpenApi;
  additionalProperties?: OpenApi;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  format?: string;
  default?: unknown;
  nullable?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string; reason?: string }[];
}

export interface Schema<T, Optional extends boolean = boolean> {
  readonly openapi: OpenApi;
  readonly optional: Optional;
  /** Appends an error for each problem found at `path`. */
  check(value: unknown, path: string, errors: string[]): void;
  /** Phantom: the TypeScript type described. */
  readonly __type?: T;
}

export type Infer<S> = S extends Schema<infer T, boolean> ? T : never;

type AnySchema = Schema<unknown, boolean>;
type Props = Record<string, AnySchema>;
type RequiredKeys<P extends Props> = {
  [K in keyof P]: P[K] extends Schema<unknown, false> ? K : never;
}[keyof P];
type OptionalKeys<P extends Props> = Exclude<keyof P, RequiredKeys<P>>;
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<P extends Props> = Flatten<
  { [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }
>;

export interface Rule<T> {
  /** CEL, evaluated by the API server on `self`. */
  rule: string;
  message: string;
  fieldPath?: string;
  /** The same rule in TypeScript, for runtime validation. */
  check?: (self: T) => boolean;
}

interface Common {
  description: string;
}

function make<T>(
  openapi: OpenApi,
  check: (value: unknown, path: string, errors: string[]) => void,
): Schema<T, false> {
  return { openapi, optional: false, check };
}

/** CEL rules as the CRD's `x-kubernetes-validations`. */
function validations<T>(rules: Rule<T>[] | undefined): Pick<OpenApi, 'x-kubernetes-validations'> {
  if (!rules?.length) return {};
  return {
    'x-kubernetes-validations': rules.map(({ rule, message, fieldPath }) => ({
      rule,
      message,
      ...(fieldPath ? { fieldPath } : {}),
    })),
  };
}

function checkRules<T>(rules: Rule<T>[] | undefined, v: T, path: string, errors: string[]) {
  for (const r of rules ?? []) if (r.check && !r.check(v)) errors.push(`${path}: ${r.message}`);
}

const typeError = (path: string, want: string, value: unknown) =>
  `${path}: must be ${want}, got ${JSON.stringify(value)}`;

export const s = {
  string<E extends string = string>(
    o: Common & {
      enum?: readonly E[];
      pattern?: string;
      minLength?: number;
      maxLength?: number;
      format?: string;
      default?: E;
      rules?: Rule<E>[];
    },
  ): Schema<E, false> {
    const { enum: values, rules, ...rest } = o;
    const re = o.pattern ? new RegExp(o.pattern) : undefined;
    return make<E>(
      { type: 'string', ...rest, ...(values ? { enum: [...values] } : {}), ...validations(rules) },
      (v, path, errors) => {
        if (typeof v !== 'string') return void errors.push(typeError(path, 'a string', v));
        if (values && !values.includes(v as E))
          errors.push(`${path}: must be one of ${values.join(', ')}, got "${v}"`);
        if (re && !re.test(v)) errors.push(`${path}: "${v}" does not match ${o.pattern}`);
        if (o.minLength !== undefined && v.length < o.minLength)
          errors.push(`${path}: must be at least ${o.minLength} characters`);
        if (o.maxLength !== undefined && v.length > o.maxLength)
          errors.push(`${path}: must be at most ${o.maxLength} characters`);
        checkRules(rules, v as E, path, errors);
      },
    );
  },

  integer(
    o: Common & { minimum?: number; maximum?: number; format?: 'int32' | 'int64'; default?: number },
  ): Schema<number, false> {
    return make<number>({ type: 'integer', format: 'int32', ...o }, (v, path, errors) => {
      if (typeof v !== 'number' || !Number.isInteger(v))
        return void errors.push(typeError(path, 'an integer', v));
      if (o.minimum !== undefined && v < o.minimum)
        errors.push(`${path}: must be at least ${o.minimum}, got ${v}`);
      if (o.maximum !== undefined && v > o.maximum)
        errors.push(`${path}: must be at most ${o.maximum}, got ${v}`);
    });
  },

  boolean(o: Common & { default?: boolean }): Schema<boolean, false> {
    return make<boolean>({ type: 'boolean', ...o }, (v, path, errors) => {
      if (typeof v !== 'boolean') errors.push(typeError(path, 'true or false', v));
    });
  },

  intOrString(o: Common & { pattern?: string }): Schema<number | string, false> {
    const re = o.pattern ? new RegExp(o.pattern) : undefined;
    return make<number | string>({ 'x-kubernetes-int-or-string': true, ...o }, (v, path, errors) => {
      if (typeof v === 'number' && Number.isInteger(v)) return;
      if (typeof v !== 'string') return void errors.push(typeError(path, 'an integer or a string', v));
      if (re && !re.test(v)) errors.push(`${path}: "${v}" does not match ${o.pattern}`);
    });
  },

  array<I extends AnySchema>(
    items: I,
    o: Common & { maxItems?: number; listType?: 'atomic' | 'set' | 'map'; mapKeys?: string[] },
  ): Schema<Infer<I>[], false> {
    const { listType, mapKeys, ...rest } = o;
    return make<Infer<I>[]>(
      {
        type: 'array',
        items: items.openapi,
        ...rest,
        ...(listType ? { 'x-kubernetes-list-type': listType } : {}),
        ...(mapKeys ? { 'x-kubernetes-list-map-keys': mapKeys } : {}),
      },
      (v, path, errors) => {
        if (!Array.isArray(v)) return void errors.push(typeError(path, 'a list', v));
        if (o.maxItems !== undefined && v.length > o.maxItems)
          errors.push(`${path}: must have at most ${o.maxItems} items`);
        for (const [i, item] of v.entries()) items.check(item, `${path}[${i}]`, errors);
      },
    );
  },

  map<V extends AnySchema>(
    values: V,
    o: Common & { maxProperties?: number; rules?: Rule<Record<string, Infer<V>>>[] },
  ): Schema<Record<string, Infer<V>>, false> {
    const { rules, ...rest } = o;
    return make<Record<string, Infer<V>>>(
      { type: 'object', additionalProperties: values.openapi, ...rest, ...validations(rules) },
      (v, path, errors) => {
        if (!v || typeof v !== 'object' || Array.isArray(v))
          return void errors.push(typeError(path, 'a map', v));
        if (o.maxProperties !== undefined && Object.keys(v).length > o.maxProperties)
          errors.push(`${path}: must have at most ${o.maxProperties} entries`);
        const start = errors.length;
        for (const [k, item] of Object.entries(v)) values.check(item, `${path}.${k}`, errors);
        if (errors.length === start) checkRules(rules, v as Record<string, Infer<V>>, path, errors);
      },
    );
  },

  object<P extends Props>(
    properties: P,
    o: Common & { rules?: Rule<ObjectOf<P>>[]; preserveUnknownFields?: boolean; nullable?: boolean },
  ): Schema<ObjectOf<P>, false> {
    const required = Object.entries(properties)
      .filter(([, p]) => !p.optional)
      .map(([k]) => k);
    const openapi: OpenApi = {
      type: 'object',
      description: o.description,
      properties: Object.fromEntries(Object.entries(properties).map(([k, p]) => [k, p.openapi])),
      ...(required.length ? { required } : {}),
      ...(o.preserveUnknownFields ? { 'x-kubernetes-preserve-unknown-fields': true } : {}),
      ...validations(o.rules),
    };
    return make<ObjectOf<P>>(openapi, (v, path, errors) => {
      const start = errors.length;
      if (!v || typeof v !== 'object' || Array.isArray(v))
        return void errors.push(typeError(path, 'an object', v));
      const obj = v as Record<string, unknown>;
      for (const [k, p] of Object.entries(properties)) {
        if (obj[k] === undefined || obj[k] === null) {
          if (!p.optional) errors.push(`${path}.${k}: required`);
        } else p.check(obj[k], `${path}.${k}`, errors);
      }
      if (!o.preserveUnknownFields) {
        for (const k of Object.keys(obj)) if (!(k in properties)) errors.push(`${path}.${k}: unknown field`);
      }
      // Cross-field rules only make sense on a structurally valid object.
      if (errors.length === start) checkRules(o.rules, obj as ObjectOf<P>, path, errors);
    });
  },

  /** Any JSON object, kept as is (e.g. a pod spec that the API server validates when used). */
  preserved<T = Record<string, unknown>>(o: Common): Schema<T, false> {
    return make<T>(
      { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...o },
      (v, path, errors) => {
        if (!v || typeof v !== 'object' || Array.isArray(v)) errors.push(typeError(path, 'an object', v));
      },
    );
  },

  /**
   * A schema given as structural OpenAPI (e.g. a Kubernetes type generated from the API server's
   * document), checked the way the API server prunes and validates a CRD: unknown fields are errors.
   */
  structural<T>(openapi: OpenApi, o: { rules?: Rule<T>[] } = {}): Schema<T, false> {
    return make<T>({ ...openapi, ...validations(o.rules) }, (v, path, errors) => {
      const start = errors.length;
      checkOpenApi(openapi, v, path, errors);
      if (errors.length === start) checkRules(o.rules, v as T, path, errors);
    });
  },

  optional<T>(schema: Schema<T, boolean>): Schema<T, true> {
    return { ...schema, optional: true };
  },
};

/** Validates a value against a schema; returns the problems, each with its path. */
export function validate<T>(schema: Schema<T>, value: unknown, path = ''): string[] {
  const errors: string[] = [];
  schema.check(value, path || '', errors);
  return errors;
}

/** Checks a value against structural OpenAPI: types, required and unknown fields, enums, bounds. */
export function checkOpenApi(schema: OpenApi, v: unknown, path: string, errors: string[]): void {
  if (v === null && schema.nullable) return;
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))))
      errors.push(typeError(path, 'an integer or a string', v));
    return;
  }
  switch (schema.type) {
    case 'string':
      if (typeof v !== 'string') return void errors.push(typeError(path, 'a string', v));
      if (schema.enum && !schema.enum.includes(v))
        errors.push(`${path}: must be one of ${schema.enum.join(', ')}, got "${v}"`);
      if (schema.maxLength !== undefined && v.length > schema.maxLength)
        errors.push(`${path}: must be at most ${schema.maxLength} characters`);
      return;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) errors.push(typeError(path, 'an integer', v));
      return;
    case 'number':
      if (typeof v !== 'number') errors.push(typeError(path, 'a number', v));
      return;
    case 'boolean':
      if (typeof v !== 'boolean') errors.push(typeError(path, 'true or false', v));
      return;
    case 'array':
      if (!Array.isArray(v)) return void errors.push(typeError(path, 'a list', v));
      if (schema.items)
        for (const [i, item] of v.entries()) checkOpenApi(schema.items, item, `${path}[${i}]`, errors);
      return;
    case 'object': {
      if (!v || typeof v !== 'object' || Array.isArray(v))
        return void errors.push(typeError(path, 'an object', v));
      const obj = v as Record<string, unknown>;
      for (const k of schema.required ?? []) if (obj[k] === undefined) errors.push(`${path}.${k}: required`);
      for (const [k, item] of Object.entries(obj)) {
        const field = schema.properties?.[k] ?? schema.additionalProperties;
        if (field) {
          if (item !== undefined && item !== null) checkOpenApi(field, item, `${path}.${k}`, errors);
        } else if (!schema['x-kubernetes-preserve-unknown-fields'])
          errors.push(`${path}.${k}: unknown field`);
      }
      return;
    }
  }
}
