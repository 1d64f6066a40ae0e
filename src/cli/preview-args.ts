// `bosun preview` arguments: parsed and validated before any API call, so that a typo gets a
// message that says what to fix instead of a 422 from the API server.

import { parseArgs } from 'node:util';
import { PREVIEW_PHASES } from '../api/preview.ts';

/** Bad input: the command exits 2 with this message and a pointer to the usage. */
export class UsageError extends Error {}

export const STEPS = ['build', 'init', 'app', 'cleanup'] as const;
export type Step = (typeof STEPS)[number];
const STATES = ['Running', 'Stopped'] as const;
const PHASES: readonly string[] = PREVIEW_PHASES;

export const PREVIEW_USAGE = `usage: bosun preview COMMAND [flags]

  list [--repository R] [--branch B] [--pr N] [--phase P] [-o json]
        previews, branches first, then pull requests, newest first
  create --repository R --commit SHA (--branch B | --pr N --branch HEAD --target-branch BASE)
         [--state Running|Stopped] [--template T]
        a preview named as a webhook would name it; per pull request, a new commit rebuilds in place
  start NAME | stop NAME      set spec.state to Running or Stopped
  reset NAME                  run the initialization again
  undeploy NAME [--wait] [--timeout 10m]
        delete the preview (its cleanup Job runs first); --wait: until it is gone
  logs NAME [--step build|init|app|cleanup] [-f|--follow] [-c|--container C]
        logs of the step's pods (default: the failed step, else the running one, else app)

flags of every command:
  --kubeconfig PATH     default: $KUBECONFIG, else ~/.kube/config
  -n, --namespace NS    default: the kubeconfig context's namespace, else default`;

export interface Common {
  kubeconfig?: string;
  namespace?: string;
}

export type PreviewArgs = Common &
  (
    | {
        command: 'list';
        repository?: string;
        branch?: string;
        pullRequest?: number;
        phase?: string;
        output: 'table' | 'json';
      }
    | {
        command: 'create';
        repository: string;
        branch: string;
        targetBranch?: string;
        pullRequest?: number;
        commit: string;
        state?: 'Running' | 'Stopped';
        template?: string;
      }
    | { command: 'start' | 'stop' | 'reset'; name: string }
    | { command: 'undeploy'; name: string; wait: boolean; timeoutMs: number }
    | { command: 'logs'; name: string; step?: Step; follow: boolean; container?: string }
    | { command: 'help' }
  );

const COMMON = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS = {
  list: {
    repository: { type: 'string' },
    branch: { type: 'string' },
    pr: { type: 'string' },
    phase: { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
  create: {
    repository: { type: 'string' },
    branch: { type: 'string' },
    'target-branch': { type: 'string' },
    pr: { type: 'string' },
    commit: { type: 'string' },
    state: { type: 'string' },
    template: { type: 'string' },
  },
  start: {},
  stop: {},
  reset: {},
  undeploy: { wait: { type: 'boolean' }, timeout: { type: 'string' } },
  logs: {
    step: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    container: { type: 'string', short: 'c' },
  },
} as const;

type Command = keyof typeof OPTIONS;

export function parsePreviewArgs(argv: string[]): PreviewArgs {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('missing command');
  if (command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (!(command in OPTIONS)) throw new UsageError(`unknown command "${command}"`);
  const cmd = command as Command;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...COMMON, ...OPTIONS[cmd] },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // parseArgs says "Unknown option '--x'" and the like: already readable.
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { command: 'help' };
  const str = (key: string) => values[key] as string | undefined;
  const common: Common = {
    kubeconfig: str('kubeconfig'),
    namespace: str('namespace') === undefined ? undefined : dnsName(str('namespace') as string, 'namespace'),
  };
  const positionals = parsed.positionals;
  const takesName =
    cmd === 'start' || cmd === 'stop' || cmd === 'reset' || cmd === 'undeploy' || cmd === 'logs';
  if (takesName && positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? `${cmd}: name the preview (bosun preview list shows them)`
        : `${cmd}: takes one preview name, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  if (!takesName && positionals.length)
    throw new UsageError(`${cmd}: unexpected argument "${positionals[0]}" (flags start with --)`);
  const name = takesName ? dnsName(positionals[0] as string, 'preview name') : '';

  switch (cmd) {
    case 'list': {
      const output = str('output') ?? 'table';
      if (output !== 'table' && output !== 'json')
        throw new UsageError(`list: -o must be json (or omitted for a table), got "${output}"`);
      const phase = str('phase');
      if (phase !== undefined && !PHASES.includes(phase))
        throw new UsageError(`list: --phase must be one of ${PHASES.join(', ')}; got "${phase}"`);
      const pr = str('pr');
      return {
        ...common,
        command: 'list',
        repository: str('repository'),
        branch: str('branch'),
        pullRequest: pr === undefined ? undefined : pullRequestNumber(pr),
        phase,
        output,
      };
    }
    case 'create':
      return { ...common, ...createArgs(str) };
    case 'undeploy':
      return {
        ...common,
        command: 'undeploy',
        name,
        wait: values.wait === true,
        timeoutMs: duration(str('timeout') ?? '10m', '--timeout'),
      };
    case 'logs': {
      const step = str('step');
      if (step !== undefined && !(STEPS as readonly string[]).includes(step))
        throw new UsageError(`logs: --step must be one of ${STEPS.join(', ')}; got "${step}"`);
      return {
        ...common,
        command: 'logs',
        name,
        step: step as Step | undefined,
        follow: values.follow === true,
        container: str('container'),
      };
    }
    default:
      return { ...common, command: cmd, name };
  }
}

function createArgs(str: (key: string) => string | undefined) {
  const repository = str('repository');
  const branch = str('branch');
  const targetBranch = str('target-branch');
  const pr = str('pr');
  const rawCommit = str('commit');
  const state = str('state');
  if (!repository) throw new UsageError('create: --repository is required (a PreviewRepository name)');
  dnsName(repository, '--repository');
  if (rawCommit === undefined) throw new UsageError('create: --commit is required (the SHA to deploy)');
  const commit = rawCommit.toLowerCase();
  if (!/^[0-9a-f]{7,64}$/.test(commit))
    throw new UsageError(
      `create: --commit must be a hexadecimal commit SHA of 7 to 64 characters, got "${rawCommit}"`,
    );
  if (pr === undefined && targetBranch !== undefined)
    throw new UsageError('create: --target-branch goes with --pr (a pull request preview)');
  if (pr !== undefined && (branch === undefined || targetBranch === undefined))
    throw new UsageError(
      'create: a pull request preview needs --pr N, --branch HEAD (its head branch) and --target-branch BASE',
    );
  if (branch === undefined)
    throw new UsageError('create: --branch is required (or --pr N --branch HEAD --target-branch BASE)');
  validBranch(branch, '--branch');
  if (targetBranch !== undefined) validBranch(targetBranch, '--target-branch');
  if (state !== undefined && !(STATES as readonly string[]).includes(state))
    throw new UsageError(`create: --state must be Running or Stopped, got "${state}"`);
  const template = str('template');
  if (template !== undefined) dnsName(template, '--template');
  return {
    command: 'create' as const,
    repository,
    branch,
    targetBranch,
    pullRequest: pr === undefined ? undefined : pullRequestNumber(pr),
    commit,
    state: state as 'Running' | 'Stopped' | undefined,
    template,
  };
}

function pullRequestNumber(value: string): number {
  const n = Number(value.replace(/^#/, ''));
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--pr must be a pull request number (1 or more), got "${value}"`);
  return n;
}

/** The Preview schema's rule: no whitespace and none of ~ ^ : ? * [ \ (git forbids them too). */
function validBranch(value: string, flag: string) {
  if (value.length === 0 || value.length > 250)
    throw new UsageError(`${flag} must be 1 to 250 characters long`);
  const bad = value.match(/[\s~^:?*[\\]/);
  if (bad)
    throw new UsageError(`${flag} "${value}" is not a branch name: it contains ${JSON.stringify(bad[0])}`);
}

/** Object names (previews, repositories, templates) and namespaces are DNS names. */
function dnsName(value: string, what: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(value))
    throw new UsageError(
      `${what} "${value}" is not a valid Kubernetes name (lower-case letters, digits, '-' and '.')`,
    );
  return value;
}

/** Go-style durations: 90s, 10m, 1h, 1h30m, 500ms. */
export function duration(value: string, flag: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value)
    throw new UsageError(`${flag} must be a duration such as 90s, 10m or 1h, got "${value}"`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * (units[p[2] as string] as number), 0);
}
