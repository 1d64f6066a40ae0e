// `bosun preview logs`: the logs of a preview's build, init, app or cleanup pods, found by the
// labels the controller puts on them, read through the API server's pods/log subresource.
import { setTimeout as sleep } from 'node:timers/promises';
import { labelValue } from '../api/names.ts';
import { PREVIEW_LABEL, ROLE_LABEL } from '../controllers/preview/labels.ts';
import type { PreviewObject } from '../controllers/preview/model.ts';
import { isNotFound, type KubeObject, Resources } from '../runtime/kube-client.ts';
import { waitFor } from '../runtime/wait.ts';
import { explainLogError, LogError, streamPodLog } from './pod-logs.ts';
import type { PreviewArgs, Step } from './preview-args.ts';
import { CommandError, type Context, getPreview } from './preview-context.ts';

/** The step a person most likely wants: the one that failed, else the one under way, else the app. */
export function defaultStep(p: PreviewObject): Step {
  const s = p.status ?? {};
  if (p.metadata.deletionTimestamp && s.cleanupJobName) return 'cleanup';
  if (s.initStatus === 'failed') return 'init';
  if (s.buildStatus === 'error' || s.buildStatus === 'building') return 'build';
  if (s.initStatus === 'initializing') return 'init';
  return 'app';
}

/** The Job of the step's current attempt, whose pods come first. */
function currentJob(p: PreviewObject, step: Step): string | undefined {
  const s = p.status ?? {};
  return { build: s.buildJobName, init: s.initJobName, cleanup: s.cleanupJobName, app: undefined }[step];
}

const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const created = (o: KubeObject) => Date.parse(o.metadata.creationTimestamp ?? '') || 0;
const finished = (pod: KubeObject) => ['Succeeded', 'Failed'].includes(pod.status?.phase);

export async function previewLogs(ctx: Context, args: Extract<PreviewArgs, { command: 'logs' }>) {
  const preview = await getPreview(ctx, args.name);
  const step = args.step ?? defaultStep(preview);
  const pods = await stepPods(ctx, preview, step);
  const streams = pods.flatMap((pod) =>
    containersOf(pod, args.container).map((c) => ({ pod, container: c })),
  );
  const prefixed = streams.length > 1;
  const read = async ({ pod, container }: { pod: KubeObject; container: string }) => {
    const name = pod.metadata.name as string;
    ctx.err(`# ${step}: pod ${name}, container ${container}\n`);
    const write = prefixed
      ? linePrefixer(`[${name}/${container}] `, ctx.out)
      : (b: Buffer, _flush?: boolean) => ctx.out(b.toString());
    const follow = args.follow && (await startedPod(ctx, pod)) && !finished(pod);
    const stop = new AbortController();
    // A real kubelet ends a followed log when the container exits; kwok never does, so a finished
    // pod ends the stream here too (after a moment for the last lines).
    const watching = follow ? endWhenFinished(ctx, name, stop) : undefined;
    try {
      await streamPodLog(ctx.client, ctx.namespace, name, container, { follow, signal: stop.signal }, write);
    } catch (e) {
      if (e instanceof LogError) throw new CommandError(explainLogError(e, name, pod.spec?.nodeName));
      throw e;
    } finally {
      stop.abort();
      await watching;
      write(Buffer.alloc(0), true);
    }
  };
  if (args.follow) await Promise.all(streams.map(read));
  else for (const s of streams) await read(s);
  return 0;
}

async function stepPods(ctx: Context, preview: PreviewObject, step: Step): Promise<KubeObject[]> {
  const name = preview.metadata.name as string;
  const selector = `${PREVIEW_LABEL}=${labelValue(name)},${ROLE_LABEL}=${step}`;
  const all = (await ctx.client.list(Resources.pods, ctx.namespace, { labelSelector: selector })).items;
  const job = currentJob(preview, step);
  const ofJob = all.filter((p) => p.metadata.labels?.[JOB_NAME_LABEL] === job);
  const pods = (ofJob.length ? ofJob : all).sort((a, b) => created(a) - created(b));
  if (pods.length) return pods;
  const why: Record<Step, string> = {
    build: `its template may have no build, or the build Job ${job ?? ''} has no pods left`,
    init: `its template may have no initialize step, or initialization has not started (init status ${preview.status?.initStatus ?? '-'})`,
    app: `the app runs no pods while it is stopped or not deployed yet: bosun preview start ${name}`,
    cleanup: 'the cleanup Job runs only while the preview is undeployed',
  };
  throw new CommandError(
    `preview ${name} has no ${step} pods (phase ${preview.status?.phase ?? '-'}): ${why[step]}; --step picks another step`,
  );
}

function containersOf(pod: KubeObject, wanted: string | undefined): string[] {
  const names = ((pod.spec?.containers ?? []) as { name: string }[]).map((c) => c.name);
  if (wanted === undefined) return names;
  if (!names.includes(wanted))
    throw new CommandError(
      `pod ${pod.metadata.name} has no container "${wanted}"; its containers: ${names.join(', ')}`,
    );
  return [wanted];
}

/** Following a pod that has not started yet waits for it; false if it is gone meanwhile. */
async function startedPod(ctx: Context, pod: KubeObject): Promise<boolean> {
  if (pod.status?.phase !== 'Pending') return true;
  ctx.err(`waiting for pod ${pod.metadata.name} to start\n`);
  return waitFor(
    async () => {
      try {
        const now = await ctx.client.get(Resources.pods, ctx.namespace, pod.metadata.name as string);
        Object.assign(pod, { status: now.status });
        return now.status?.phase !== 'Pending' || { pending: 'Pending' };
      } catch (e) {
        if (isNotFound(e)) return 'gone' as const;
        throw e;
      }
    },
    { what: `pod ${pod.metadata.name} to start`, timeoutMs: 3_600_000, intervalMs: 1000 },
  ).then((r) => r === true);
}

async function endWhenFinished(ctx: Context, pod: string, stop: AbortController): Promise<void> {
  const GRACE_MS = 2000;
  const pause = () => sleep(GRACE_MS, undefined, { signal: stop.signal }).then(() => !stop.signal.aborted);
  try {
    while (await pause()) {
      const now = await ctx.client.get(Resources.pods, ctx.namespace, pod).catch((e) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (!now || finished(now)) {
        await pause();
        stop.abort();
      }
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }
}

/** Writes whole lines with a prefix; the rest waits for its newline (or the final flush). */
export function linePrefixer(prefix: string, out: (text: string) => void) {
  let partial = '';
  return (chunk: Buffer, flush = false) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) out(`${prefix}${line}\n`);
    if (flush && partial) {
      out(`${prefix}${partial}\n`);
      partial = '';
    }
  };
}
