// `bosun preview list|create|start|stop|reset|undeploy|logs`: previews from a terminal. Every
// command writes only what a person (or the webhook receiver) would: spec.state for start/stop,
// the reset annotation, a Preview named by previewName, a delete; the operator does the rest.
import { waitingForApproval } from '../controllers/preview/approvals.ts';
import { RESET_ANNOTATION } from '../controllers/preview/labels.ts';
import {
  PREVIEW_REPOSITORIES,
  PREVIEWS,
  type PreviewObject,
  type RepositoryObject,
} from '../controllers/preview/model.ts';
import { createPreview, newPreview, shortCommit } from '../controllers/preview/naming.ts';
import { ApiError, isNotFound, resourcePath } from '../runtime/kube-client.ts';
import { PREVIEW_USAGE, type PreviewArgs, parsePreviewArgs, UsageError } from './preview-args.ts';
import {
  CommandError,
  type Context,
  explainApiError,
  getPreview,
  isApiError,
  makeContext,
  readyLine,
} from './preview-context.ts';
import { previewLogs } from './preview-logs.ts';
import {
  filterPreviews,
  formatTable,
  type ListFilter,
  previewRows,
  sortPreviews,
  source,
  waitingText,
} from './preview-table.ts';

export async function previewCommand(argv: string[]): Promise<number> {
  let args: PreviewArgs;
  try {
    args = parsePreviewArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(
      `bosun preview: ${e.message}\n(bosun preview help lists the commands and their flags)\n`,
    );
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(`${PREVIEW_USAGE}\n`);
    return 0;
  }
  const ctx = makeContext(args);
  try {
    return await run(ctx, args);
  } catch (e) {
    const message =
      e instanceof CommandError
        ? e.message
        : isApiError(e)
          ? explainApiError(e, `${args.command} in namespace ${ctx.namespace}`)
          : (e as Error).message;
    ctx.err(`bosun preview ${args.command}: ${message}\n`);
    return 1;
  }
}

async function run(ctx: Context, args: Exclude<PreviewArgs, { command: 'help' }>): Promise<number> {
  switch (args.command) {
    case 'list':
      return list(ctx, args);
    case 'create':
      return create(ctx, args);
    case 'start':
    case 'stop':
      return setState(ctx, args.name, args.command === 'start' ? 'Running' : 'Stopped');
    case 'reset':
      return reset(ctx, args.name);
    case 'undeploy':
      return undeploy(ctx, args);
    case 'logs':
      return previewLogs(ctx, args);
  }
}

async function list(ctx: Context, args: Extract<PreviewArgs, { command: 'list' }>): Promise<number> {
  const all = await ctx.client.list<PreviewObject>(PREVIEWS, ctx.namespace);
  const previews = sortPreviews(filterPreviews(all.items, args));
  if (args.output === 'json') {
    const items = previews.map((p) => ({ apiVersion: 'bosun.dev/v1alpha1', kind: 'Preview', ...p }));
    ctx.out(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2)}\n`);
  } else {
    if (previews.length === 0)
      ctx.err(`no previews${all.items.length ? ' match' : ''} in namespace ${ctx.namespace}\n`);
    else ctx.out(formatTable(previewRows(previews, new Date())));
    const waiting = await forksWaiting(ctx, all.items, args);
    if (waiting.length) ctx.out(`\n${waitingText(waiting, ctx.namespace, new Date())}`);
  }
  return 0;
}

/** The pull requests from forks that wait for approval, under the list's filters. */
async function forksWaiting(ctx: Context, previews: PreviewObject[], f: ListFilter) {
  const repositories = await ctx.client
    .list<RepositoryObject>(PREVIEW_REPOSITORIES, ctx.namespace)
    .then((l) => l.items)
    // Someone who may list previews but not their repositories: nothing to add.
    .catch((e) => (e instanceof ApiError && e.code === 403 ? [] : Promise.reject(e)));
  return waitingForApproval(
    repositories.filter((r) => f.repository === undefined || r.metadata.name === f.repository),
    () => previews,
  ).filter(({ pullRequest }) => f.pullRequest === undefined || pullRequest.number === f.pullRequest);
}

async function create(ctx: Context, args: Extract<PreviewArgs, { command: 'create' }>): Promise<number> {
  const { namespace } = ctx;
  let repository: RepositoryObject;
  try {
    repository = await ctx.client.get<RepositoryObject>(PREVIEW_REPOSITORIES, namespace, args.repository);
  } catch (e) {
    if (isNotFound(e))
      throw new CommandError(
        `PreviewRepository ${args.repository} not found in namespace ${namespace} (kubectl get previewrepositories -n ${namespace} lists them)`,
      );
    throw e;
  }
  const perPullRequest = repository.spec.previewPer === 'PullRequest';
  const spec = {
    repository: args.repository,
    branch: args.branch,
    commit: args.commit,
    ...(args.pullRequest !== undefined
      ? { pullRequest: args.pullRequest, targetBranch: args.targetBranch }
      : {}),
    ...(args.template ? { template: args.template } : {}),
    ...(args.state ? { state: args.state } : {}),
  };
  const preview = newPreview(repository, spec);
  const name = preview.metadata.name as string;
  try {
    const found = await createPreview(ctx.client, preview);
    if (!found.created) return existing(ctx, found.object, args, perPullRequest);
    ctx.out(
      `preview ${found.object.metadata.name} created: ${source(preview)} at ${shortCommit(args.commit)}, ${spec.state ?? 'Stopped'}\n`,
    );
    return 0;
  } catch (e) {
    if (isApiError(e)) throw new CommandError(explainApiError(e, `preview ${name}`));
    throw e;
  }
}

/** create found the name taken: the same preview (nothing to do), or a pull request's new commit. */
async function existing(
  ctx: Context,
  found: PreviewObject,
  args: Extract<PreviewArgs, { command: 'create' }>,
  perPullRequest: boolean,
): Promise<number> {
  const name = found.metadata.name as string;
  if (found.metadata.deletionTimestamp)
    throw new CommandError(
      `preview ${name} is being undeployed; create it again once it is gone (bosun preview undeploy ${name} --wait)`,
    );
  const samePullRequest = perPullRequest && found.spec.pullRequest === args.pullRequest;
  if (found.spec.repository !== args.repository || (found.spec.commit !== args.commit && !samePullRequest))
    throw new CommandError(
      `a different preview is already named ${name} (repository ${found.spec.repository}, ${source(found)} at ${shortCommit(found.spec.commit)})`,
    );
  if (found.spec.commit === args.commit) {
    const state = found.spec.state ?? 'Stopped';
    const hint =
      args.state && args.state !== state
        ? `; it is ${state}: bosun preview ${args.state === 'Running' ? 'start' : 'stop'} ${name}`
        : '';
    ctx.out(`preview ${name} already exists at ${shortCommit(args.commit)}: ${readyLine(found)}${hint}\n`);
    return 0;
  }
  // One preview per pull request: a new commit rebuilds it in place, under the same name and URL.
  const patch = {
    metadata: { resourceVersion: found.metadata.resourceVersion },
    spec: { commit: args.commit, branch: args.branch, targetBranch: args.targetBranch },
  };
  await ctx.client.mergePatch(PREVIEWS, ctx.namespace, name, patch);
  ctx.out(
    `preview ${name}: commit ${shortCommit(found.spec.commit)} → ${shortCommit(args.commit)}, rebuilding in place (same URL)\n`,
  );
  return 0;
}

async function setState(ctx: Context, name: string, state: 'Running' | 'Stopped'): Promise<number> {
  const p = await getPreview(ctx, name);
  if (p.metadata.deletionTimestamp) throw new CommandError(`preview ${name} is being undeployed`);
  const was = p.spec.state ?? 'Stopped';
  if (was === state) {
    ctx.out(`preview ${name} is already ${state}: ${readyLine(p)}\n`);
    return 0;
  }
  await patchPreview(ctx, name, { spec: { state } });
  ctx.out(`preview ${name}: state ${state} (was ${was}); bosun preview list shows its phase\n`);
  return 0;
}

async function reset(ctx: Context, name: string): Promise<number> {
  const p = await getPreview(ctx, name);
  if (p.metadata.deletionTimestamp) throw new CommandError(`preview ${name} is being undeployed`);
  // Any value the controller has not acted on yet is a reset; a timestamp is new and tells when.
  const token = new Date().toISOString();
  await patchPreview(ctx, name, { metadata: { annotations: { [RESET_ANNOTATION]: token } } });
  ctx.out(`preview ${name}: reset requested (${RESET_ANNOTATION}=${token}); initialization runs again\n`);
  return 0;
}

/** A merge patch; the preview vanishing in between is "not found", not a raw 404. */
async function patchPreview(ctx: Context, name: string, patch: object) {
  try {
    await ctx.client.mergePatch(PREVIEWS, ctx.namespace, name, patch);
  } catch (e) {
    if (isNotFound(e)) await getPreview(ctx, name);
    throw e;
  }
}

async function undeploy(ctx: Context, args: Extract<PreviewArgs, { command: 'undeploy' }>): Promise<number> {
  const p = await getPreview(ctx, args.name);
  await ctx.client.delete(PREVIEWS, ctx.namespace, args.name);
  if (!args.wait) {
    ctx.out(
      `preview ${args.name}: undeploying (cleanup Job, then every labelled resource); --wait waits until it is gone\n`,
    );
    return 0;
  }
  ctx.out(`preview ${args.name}: undeploying\n`);
  await waitGone(ctx, p, args.timeoutMs);
  ctx.out(`preview ${args.name} is gone\n`);
  return 0;
}

/** Prints each new phase and Ready message until the preview is deleted, within the timeout. */
async function waitGone(ctx: Context, p: PreviewObject, timeoutMs: number): Promise<void> {
  const name = p.metadata.name as string;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  const show = (o: PreviewObject) => {
    const line = readyLine(o);
    if (line !== last) ctx.out(`  ${line}\n`);
    last = line;
  };
  const path = resourcePath(PREVIEWS, ctx.namespace);
  for (;;) {
    let current: PreviewObject;
    try {
      current = await ctx.client.get<PreviewObject>(PREVIEWS, ctx.namespace, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (current.metadata.uid !== p.metadata.uid) return; // gone, and created again since
    show(current);
    const left = deadline - Date.now();
    if (left <= 0)
      throw new CommandError(
        `preview ${name} is still there after ${timeoutMs / 1000}s: ${last}\n  (a failing cleanup Job holds it; its message says the way out)`,
      );
    let gone = false;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), left);
    try {
      await ctx.client.watch(
        path,
        {
          fieldSelector: `metadata.name=${name}`,
          resourceVersion: current.metadata.resourceVersion,
          timeoutSeconds: Math.max(1, Math.min(60, Math.ceil(left / 1000))),
        },
        (event) => {
          if (event.type === 'DELETED') {
            gone = true;
            abort.abort();
          } else if (event.type === 'MODIFIED') show(event.object as PreviewObject);
        },
        abort.signal,
      );
    } catch (e) {
      if (!(isApiError(e) && e.code === 410)) throw e; // 410 Gone: read again and re-watch
    } finally {
      clearTimeout(timer);
    }
    if (gone) return;
  }
}
