// The web UI's first paint: time from navigation to the first screen of previews shown, in headless
// Chromium, from the performance marks the page sets (bosun:snapshot, bosun:first-screen).
//
//   uiFirstPaint(url, { token })  measures a running server (e.g. `bosun run --http-address`);
//   uiFirstPaintAt(10_000)        starts the real HTTP server in process over informers filled with
//                                 synthetic previews (no cluster) and measures it.
//   node bench/ui-paint.ts [COUNT] [RUNS]   prints the second as JSON.
import type { PreviewObject, RepositoryObject } from '../src/controllers/preview/model.ts';
import type { KubeClient, KubeObject } from '../src/runtime/kube-client.ts';
import { silentLogger } from '../src/runtime/log.ts';
import { Informer } from '../src/runtime/manager.ts';
import type { CacheHandler, WatchCache } from '../src/runtime/watch-cache.ts';
import { createHttpServer } from '../src/server/app.ts';
import type { HttpContext } from '../src/server/context.ts';
import { type FirstPaint, launchChromium, measureFirstPaint } from '../test/support/browser.ts';

export type { FirstPaint };
export const uiFirstPaint = measureFirstPaint;

const PHASES = ['Stopped', 'Stopped', 'Stopped', 'Stopped', 'Running', 'Failed', 'Initializing', 'Pending'];

/** `count` previews over 20 repositories: a third branch commits (runboat), the rest pull requests. */
export function syntheticPreviews(count: number, namespace = 'previews') {
  const repositories: RepositoryObject[] = [];
  const previews: PreviewObject[] = [];
  const repoCount = 20;
  for (let r = 0; r < repoCount; r++) {
    repositories.push({
      apiVersion: 'bosun.dev/v1alpha1',
      kind: 'PreviewRepository',
      metadata: { namespace, name: `repo${r}` },
      spec: { forge: 'github', repository: `acme/repo${r}`, template: 'web', branches: ['*'] },
    } as unknown as RepositoryObject);
  }
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < count; i++) {
    const r = i % repoCount;
    const n = Math.floor(i / repoCount);
    const isPr = n % 3 !== 0;
    const commit = ((i + 1) * 2654435761).toString(16).padStart(12, '0').slice(-12);
    const branch = isPr ? `feature-${n}` : `${16 + (n % 4)}.0`;
    const name = isPr ? `repo${r}-pr${n + 1}` : `repo${r}-${branch.replace('.', '-')}-${commit.slice(0, 7)}`;
    const phase = PHASES[i % PHASES.length] as string;
    previews.push({
      apiVersion: 'bosun.dev/v1alpha1',
      kind: 'Preview',
      metadata: {
        namespace,
        name,
        uid: `uid-${i}`,
        resourceVersion: String(i + 1),
        creationTimestamp: new Date(start + i * 60_000).toISOString(),
      },
      spec: {
        repository: `repo${r}`,
        branch,
        commit,
        state: phase === 'Running' ? 'Running' : 'Stopped',
        ...(isPr ? { pullRequest: n + 1, targetBranch: '17.0' } : {}),
      },
      status: {
        phase,
        buildStatus: phase === 'Pending' ? undefined : 'success',
        initStatus: phase === 'Initializing' ? 'initializing' : 'ready',
        url: `http://${name}.preview.example`,
        conditions: [
          { type: 'Ready', status: phase === 'Running' ? 'True' : 'False', reason: phase, message: '' },
        ],
      },
    } as unknown as PreviewObject);
  }
  return { repositories, previews };
}

/** An Informer over a fixed set of objects (what the watch caches hold after their first list). */
export function fixedInformer<T extends KubeObject>(objects: T[]): Informer<T> {
  const byKey = new Map(objects.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  const cache = {
    get: (namespace: string | undefined, name: string) => byKey.get(`${namespace}/${name}`),
    list: (filter?: (o: T) => boolean) => (filter ? objects.filter(filter) : [...objects]),
    listNamespace: (namespace: string) => objects.filter((o) => o.metadata.namespace === namespace),
    onEvent: (_handler: CacheHandler<T>) => {},
    synced: Promise.resolve(),
  };
  return new Informer<T>([cache as unknown as WatchCache<T>]);
}

export interface FirstPaintRun {
  previews: number;
  runs: FirstPaint[];
  /** Median over the runs of firstScreenMs. */
  firstScreenMedianMs: number;
}

/** The real HTTP server (reads are public, nothing is written) over `count` synthetic previews. */
export async function uiFirstPaintAt(count: number, runs = 5): Promise<FirstPaintRun> {
  const { repositories, previews } = syntheticPreviews(count);
  const ctx: HttpContext = {
    client: undefined as unknown as KubeClient, // reads only: the informers answer
    previews: fixedInformer(previews),
    repositories: fixedInformer(repositories),
    log: silentLogger,
    auth: { authenticate: async () => ({ scopes: ['read'] }) },
    namespaces: [],
  };
  const app = createHttpServer(ctx);
  const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/`;
  const browser = await launchChromium();
  try {
    await measureFirstPaint(url, { browser }); // warm-up: the first page load of a fresh browser
    const results: FirstPaint[] = [];
    for (let i = 0; i < runs; i++) results.push(await measureFirstPaint(url, { browser }));
    const sorted = results.map((r) => r.firstScreenMs).sort((a, b) => a - b);
    return {
      previews: count,
      runs: results,
      firstScreenMedianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    };
  } finally {
    await browser.close();
    await app.close();
  }
}

if (import.meta.main) {
  const count = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 5);
  console.log(JSON.stringify(await uiFirstPaintAt(count, runs), null, 2));
}
