// Observer for bench/previews.ts: watches Previews, their Jobs and their Deployments in one
// namespace and keeps, incrementally (O(1) per event, so that it keeps up at 10,000 previews),
// each preview's phase and the number of deployed, running and initializing previews of one
// repository as they really exist, with the highest values seen since the last reset.
// The counts follow test/support/previews.ts's sampleCaps: deployed = a live preview that holds a
// deploy slot (admitted: recorded before any of its children is created); running = a Deployment
// asked for pods or still holding some; initializing = an init Job not finished.
import { PREVIEWS, type PreviewObject } from '../src/controllers/preview/model.ts';
import { type KubeClient, type KubeObject, Resources } from '../src/runtime/kube-client.ts';
import { silentLogger } from '../src/runtime/log.ts';
import { type CacheEvent, WatchCache } from '../src/runtime/watch-cache.ts';

export interface CapCounts {
  deployed: number;
  running: number;
  initializing: number;
}

const owner = (o: KubeObject) =>
  o.metadata.ownerReferences?.find((r) => r.kind === 'Preview')?.name as string | undefined;
const role = (o: KubeObject) => o.metadata.labels?.['bosun.dev/preview-role'];
const finished = (j: KubeObject) =>
  !!j.status?.conditions?.some(
    (c: { type: string; status: string }) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
  );

export class PreviewSampler {
  /** Phase of every preview in the namespace (deleting ones included), by name. */
  readonly phases = new Map<string, string>();
  /** Repository of every preview, by name. */
  readonly repositoryOf = new Map<string, string>();
  readonly max: CapCounts = { deployed: 0, running: 0, initializing: 0 };
  /** Events seen: a measure of progress. */
  events = 0;
  /** Called with every preview added or changed (any repository), as the watch delivers it. */
  onPreviewEvent?: (preview: PreviewObject) => void;
  /** Called with the name of every preview deleted, as the watch delivers it. */
  onPreviewGone?: (name: string) => void;
  private readonly live = new Set<string>();
  private readonly admitted = new Set<string>();
  private readonly deployed = new Set<string>();
  private readonly running = new Set<string>();
  private readonly initializing = new Set<string>();
  private readonly caches: WatchCache[];

  /** The repository whose caps are sampled. */
  private readonly repository: string;

  constructor(client: KubeClient, namespace: string, repository: string) {
    this.repository = repository;
    const opts = { namespace, log: silentLogger };
    const previews = new WatchCache<PreviewObject>(client, PREVIEWS, opts);
    const jobs = new WatchCache(client, Resources.jobs, { ...opts, labelSelector: 'bosun.dev/preview' });
    const deployments = new WatchCache(client, Resources.deployments, {
      ...opts,
      labelSelector: 'bosun.dev/preview',
    });
    previews.onEvent((e) => this.onPreview(e));
    jobs.onEvent((e) => this.onChild(e, 'job'));
    deployments.onEvent((e) => this.onChild(e, 'deployment'));
    this.caches = [previews, jobs, deployments] as WatchCache[];
  }

  async start(): Promise<void> {
    for (const c of this.caches) c.start();
    await Promise.all(this.caches.map((c) => c.synced));
  }

  stop(): void {
    for (const c of this.caches) c.stop();
  }

  get current(): CapCounts {
    return {
      deployed: this.deployed.size,
      running: this.running.size,
      initializing: this.initializing.size,
    };
  }

  resetMax(): void {
    Object.assign(this.max, this.current);
  }

  /** Phases of one repository's previews, counted. */
  phaseCounts(repository = this.repository): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [name, phase] of this.phases)
      if (this.repositoryOf.get(name) === repository) counts[phase] = (counts[phase] ?? 0) + 1;
    return counts;
  }

  private ours(previewName: string | undefined): previewName is string {
    return previewName !== undefined && this.repositoryOf.get(previewName) === this.repository;
  }

  private onPreview(e: CacheEvent<PreviewObject>) {
    const p = e.object;
    const name = p.metadata.name as string;
    if (e.type !== 'deleted') this.onPreviewEvent?.(p);
    else this.onPreviewGone?.(name);
    if (e.type === 'deleted') {
      this.phases.delete(name);
      this.live.delete(name);
      this.admitted.delete(name);
    } else {
      if (p.status?.admittedAt) this.admitted.add(name);
      this.repositoryOf.set(name, p.spec.repository);
      const deleting = !!p.metadata.deletionTimestamp;
      this.phases.set(name, deleting ? 'Undeploying' : (p.status?.phase ?? 'New'));
      if (deleting) this.live.delete(name);
      else this.live.add(name);
    }
    this.recount(name);
  }

  private onChild(e: CacheEvent<KubeObject>, kind: 'job' | 'deployment') {
    const o = e.object;
    const previewName = owner(o);
    if (!previewName) return;
    const key = `${kind}/${o.metadata.name}`;
    const gone = e.type === 'deleted';
    if (kind === 'deployment') {
      const pods = (o.spec?.replicas ?? 0) > 0 || (o.status?.replicas ?? 0) > 0;
      if (!gone && pods && this.ours(previewName)) this.running.add(key);
      else this.running.delete(key);
    } else if (role(o) === 'init') {
      if (!gone && !finished(o) && this.ours(previewName)) this.initializing.add(key);
      else this.initializing.delete(key);
    }
    this.recount(previewName);
  }

  private recount(name: string) {
    this.events++;
    if (this.live.has(name) && this.ours(name) && this.admitted.has(name)) this.deployed.add(name);
    else this.deployed.delete(name);
    const m = this.max;
    m.deployed = Math.max(m.deployed, this.deployed.size);
    m.running = Math.max(m.running, this.running.size);
    m.initializing = Math.max(m.initializing, this.initializing.size);
  }
}
