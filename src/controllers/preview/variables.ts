// `${name}` substitution in string values only: a fixed, documented set of variables and no
// template language, so a template can never run code. `$${name}` writes a literal `${name}`.

export const BUILTIN_VARIABLES = [
  'repository',
  'branch',
  'targetBranch',
  'pullRequest',
  'commit',
  'shortCommit',
  'slug',
  'host',
  'image',
  'preview',
] as const;

export type Variables = Record<string, string>;

const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class UnknownVariableError extends Error {
  readonly path: string;
  constructor(path: string, name: string, known: string[]) {
    super(
      `${path}: unknown variable \${${name}}; known: ${known.map((k) => `\${${k}}`).join(', ')} (write $\${...} for a literal)`,
    );
    this.path = path;
  }
}

/** Substitutes variables in one string; throws UnknownVariableError naming the path. */
export function substitute(value: string, vars: Variables, path = ''): string {
  return value.replace(REFERENCE, (whole, escaped: string, name: string) => {
    if (escaped) return whole.slice(1);
    if (!NAME.test(name) || !Object.hasOwn(vars, name))
      throw new UnknownVariableError(path, name, Object.keys(vars));
    return vars[name] as string;
  });
}

/** A deep copy of `value` with every string substituted. Keys are never substituted. */
export function substituteAll<T>(value: T, vars: Variables, path = ''): T {
  if (typeof value === 'string') return substitute(value, vars, path) as T;
  if (Array.isArray(value)) return value.map((v, i) => substituteAll(v, vars, `${path}[${i}]`)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteAll(v, vars, path ? `${path}.${k}` : k)]),
    ) as T;
  return value;
}

/** Checks that user-defined variable names are usable and do not shadow the built-in ones. */
export function variableNameProblems(names: string[]): string[] {
  return names.flatMap((n) =>
    !NAME.test(n)
      ? [`variable "${n}": use letters, digits and _ (not starting with a digit)`]
      : (BUILTIN_VARIABLES as readonly string[]).includes(n)
        ? [`variable "${n}": built in, cannot be overridden`]
        : [],
  );
}
