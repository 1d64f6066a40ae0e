// BeforeRollout hooks on the local control plane: the kube-apiserver calls the operator's
// admission webhook (TLS, the operator's own CA) for new pods, the scheduler leaves gated pods
// alone, and the operator lets them go once the hook Job succeeded.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { DeploymentRunStatus } from '../../src/api/deploymenthook.ts';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { deploymentLookup } from '../../src/controllers/deploymenthook/deployment-lookup.ts';
import { GATE } from '../../src/controllers/deploymenthook/gate.ts';
import { FAIL_LABEL, FAIL_REASON, FINISH_AFTER } from '../../src/dev/kwok-stages.ts';
import { type KubeClient, type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { WEBHOOK_CONFIGURATIONS } from '../../src/server/admission/webhook-config.ts';
import { testClient, testCluster, testNamespace } from '../support/cluster.ts';
import {
  condition,
  deployment,
  hook,
  hookJobs,
  jobSucceeded,
  waitHook,
  waitRolledOut,
} from '../support/deployments.ts';
import { eventsFor, type Operator, startOperator } from '../support/operator.ts';

const WEBHOOK = 'bosun-before-rollout-test';
const migrate = { name: 'migrate', image: 'registry.example/migrate:1' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Gate {
  start(): Promise<Operator>;
}

/** Every operator started, for the admission log lines when a test fails. */
const started: Operator[] = [];

/** `bosun run --admission-*` for these namespaces, on a fixed port so that a restart serves the same URL. */
async function gateOperator(t: TestContext, namespaces: string[]): Promise<Gate> {
  const client = await testClient();
  const port = await freePort();
  const secretNs = await testNamespace(t, 'gate-tls');
  t.after(() => client.delete(WEBHOOK_CONFIGURATIONS, undefined, WEBHOOK));
  return {
    start: async () => {
      const op = await startOperator(t, {
        namespaces,
        args: [
          `--admission-address=127.0.0.1:${port}`,
          `--admission-url=https://127.0.0.1:${port}`,
          `--admission-secret=${secretNs}/bosun-webhook-tls`,
          `--admission-webhook=${WEBHOOK}`,
        ],
      });
      started.push(op);
      return op;
    },
  };
}

/** Waits until the API server sends this namespace's new pods to the webhook. */
async function waitWebhookCovers(client: KubeClient, ns: string) {
  await waitFor(
    async () => {
      const c = await client.get(WEBHOOK_CONFIGURATIONS, undefined, WEBHOOK).catch(() => undefined);
      const values = c?.webhooks?.[0]?.namespaceSelector?.matchExpressions?.[0]?.values ?? [];
      return values.includes(ns) || { pending: JSON.stringify(c?.webhooks?.[0]?.namespaceSelector ?? null) };
    },
    { what: `the webhook configuration to cover ${ns}` },
  );
}

const pods = async (client: KubeClient, ns: string) =>
  (await client.list(Resources.pods, ns, { labelSelector: 'test.bosun.dev/deployment=web' })).items.filter(
    (p) => !p.metadata.deletionTimestamp,
  );
const gated = (p: KubeObject) =>
  (p.spec.schedulingGates ?? []).some((g: { name: string }) => g.name === GATE);
const schedulingGated = (p: KubeObject) =>
  p.status?.phase === 'Pending' &&
  !p.spec.nodeName &&
  (p.status?.conditions ?? []).some(
    (c: { type: string; reason?: string }) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated',
  );
const hash = (p: KubeObject) => p.metadata.labels?.['pod-template-hash'];
const running = (p: KubeObject) => p.status?.phase === 'Running';

/** The Deployment at revision 1 (two pods serving), then a BeforeRollout hook, covered by the webhook. */
async function setUp(client: KubeClient, ns: string, template: Record<string, unknown>) {
  await client.apply(Resources.deployments, deployment(ns, 'web', { replicas: 2, image: 'web:1' }));
  await waitRolledOut(client, ns, 'web', '1');
  await client.apply(
    HOOKS,
    hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, when: 'BeforeRollout', template }),
  );
  await waitWebhookCovers(client, ns);
  // The hook recorded the revision it found: from now on only newer ones wait.
  await waitHook(
    client,
    ns,
    'migrate',
    'baseline recorded',
    (h) => h.status?.deployments?.[0]?.baselineRevision === '1',
  );
  return hash((await pods(client, ns))[0] as KubeObject) as string;
}

/** Waits for pods of the new revision that the scheduler holds back; returns them. */
const waitGatedPods = (client: KubeClient, ns: string, oldHash: string, t: TestContext) =>
  waitFor(
    async () => {
      const fresh = (await pods(client, ns)).filter((p) => hash(p) !== oldHash);
      return (
        (fresh.length && fresh.every((p) => gated(p) && schedulingGated(p)) && fresh) || {
          pending: JSON.stringify(
            fresh.map((p) => [p.metadata.name, p.status?.phase, p.spec.schedulingGates]),
          ),
        }
      );
    },
    { what: 'the new revision’s pods gated and left unscheduled' },
  ).catch(async (e) => {
    const events = (await client.list(Resources.events, ns)).items.map((x) => `${x.reason}: ${x.note}`);
    t.diagnostic(`events in ${ns}:\n${events.join('\n')}`);
    const admission = started
      .flatMap((o) => o.logs)
      .filter((l) => l.pod || l.component === 'admission' || l.webhook);
    t.diagnostic(`admission logs:\n${admission.map((l) => JSON.stringify(l)).join('\n')}`);
    throw e;
  });

const lastRun = (h: KubeObject) => (h.status?.deployments as DeploymentRunStatus[] | undefined)?.[0]?.lastRun;

describe('DeploymentHook when: BeforeRollout', () => {
  it('holds the new revision’s pods until the hook Job succeeded, then the rollout completes; the revision it found is never gated', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'before');
    await (await gateOperator(t, [ns])).start();
    const slow = {
      spec: { metadata: { annotations: { [FINISH_AFTER]: '8s' } }, spec: { containers: [migrate] } },
    };
    const oldHash = await setUp(client, ns, slow);

    // The revision that existed before the hook: a replacement pod is not gated, and nothing runs for it.
    const victim = (await pods(client, ns))[0] as KubeObject;
    await client.delete(Resources.pods, ns, victim.metadata.name as string);
    await waitFor(
      async () => {
        const ps = await pods(client, ns);
        return (
          (ps.length === 2 && ps.every((p) => running(p) && !gated(p))) || { pending: `${ps.length} pods` }
        );
      },
      { what: 'a replacement pod of revision 1, ungated and running' },
    );
    assert.equal((await hookJobs(client, ns)).length, 0, 'no hook Job for the revision the hook found');

    await client.apply(Resources.deployments, deployment(ns, 'web', { replicas: 2, image: 'web:2' }));
    const held = await waitGatedPods(client, ns, oldHash, t);
    const jobs = await waitFor(
      async () => (await hookJobs(client, ns)).length === 1 && hookJobs(client, ns),
      {
        what: 'one hook Job, for revision 2',
      },
    );
    assert.equal(jobs[0]?.metadata.labels?.['bosun.dev/revision'], '2');
    assert.ok(!jobSucceeded(jobs[0] as KubeObject), 'the pods are gated while the Job runs');
    assert.equal(held[0]?.metadata.labels?.[GATE], '2');
    const old = (await pods(client, ns)).filter((p) => hash(p) === oldHash);
    assert.ok(old.length === 2 && old.every(running), 'both old pods keep serving');

    const rolled = await waitRolledOut(client, ns, 'web', '2', 120_000);
    assert.ok(rolled);
    const job = (await hookJobs(client, ns))[0] as KubeObject;
    assert.ok(jobSucceeded(job));
    const finished = Date.parse(job.status.completionTime);
    for (const p of await pods(client, ns)) {
      assert.ok(!gated(p), `${p.metadata.name} let go`);
      assert.equal(p.metadata.labels?.[GATE], undefined);
      const scheduled = (p.status.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
      assert.ok(
        Date.parse(scheduled.lastTransitionTime) >= finished,
        `${p.metadata.name} scheduled (${scheduled.lastTransitionTime}) once the Job finished (${job.status.completionTime})`,
      );
    }
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'revision 2 succeeded',
      (x) => lastRun(x)?.phase === 'Succeeded',
    );
    assert.equal(lastRun(h)?.revision, '2');
  });

  it('a failing hook keeps the new pods gated while the old ones serve, says why, and kubectl rollout undo recovers', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'before-fail');
    await (await gateOperator(t, [ns])).start();
    const failing = {
      spec: {
        metadata: { labels: { [FAIL_LABEL]: 'true' }, annotations: { [FAIL_REASON]: 'MigrationFailed' } },
        spec: { containers: [migrate] },
      },
    };
    const oldHash = await setUp(client, ns, failing);
    await client.apply(Resources.deployments, deployment(ns, 'web', { replicas: 2, image: 'web:2' }));
    await waitGatedPods(client, ns, oldHash, t);

    const h = await waitHook(
      client,
      ns,
      'migrate',
      'revision 2 failed',
      (x) => lastRun(x)?.phase === 'Failed',
    );
    assert.equal(lastRun(h)?.revision, '2');
    assert.equal(condition(h, 'Failed')?.status, 'True');
    assert.match(condition(h, 'Failed')?.message, /web revision 2/);
    assert.equal(condition(h, 'Ready')?.reason, 'HookFailed');
    await waitFor(
      async () => {
        const reasons = (await eventsFor(client, ns, 'web')).map((e) => e.reason);
        return (
          (reasons.includes('HookFailed') && reasons.includes('RolloutBlocked')) || {
            pending: reasons.join(),
          }
        );
      },
      { what: 'HookFailed and RolloutBlocked Events on the Deployment' },
    );
    const blocked = (await eventsFor(client, ns, 'web')).find((e) => e.reason === 'RolloutBlocked');
    assert.match(blocked?.note ?? '', /rollout undo/);
    assert.ok(
      (await eventsFor(client, ns, 'migrate')).some((e) => e.reason === 'Failed' && e.type === 'Warning'),
    );

    // Still held a while later, old pods still serving.
    const now = await pods(client, ns);
    assert.ok(now.filter((p) => hash(p) !== oldHash).every(schedulingGated), 'new pods stay gated');
    assert.equal(now.filter((p) => hash(p) === oldHash && running(p)).length, 2, 'old pods serve');

    const { kubeconfig, binDir } = await testCluster();
    execFileSync(join(binDir, 'kubectl'), [
      '--kubeconfig',
      kubeconfig,
      '-n',
      ns,
      'rollout',
      'undo',
      'deployment/web',
    ]);
    await waitRolledOut(client, ns, 'web', '3');
    await waitFor(
      async () => {
        const ps = await pods(client, ns);
        return (
          (ps.length === 2 && ps.every((p) => hash(p) === oldHash && running(p) && !gated(p))) || {
            pending: JSON.stringify(ps.map((p) => [hash(p), p.status?.phase])),
          }
        );
      },
      { what: 'only the old template’s pods, running' },
    );
    assert.equal(
      (await hookJobs(client, ns)).length,
      1,
      'the rollback to the revision the hook found ran nothing',
    );
  });

  it('the operator killed while pods are gated: on restart the gates go for the succeeded run, one Job, nothing lost', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'before-kill');
    const gate = await gateOperator(t, [ns]);
    const operator = await gate.start();
    const slow = {
      spec: { metadata: { annotations: { [FINISH_AFTER]: '6s' } }, spec: { containers: [migrate] } },
    };
    const oldHash = await setUp(client, ns, slow);
    await client.apply(Resources.deployments, deployment(ns, 'web', { replicas: 2, image: 'web:2' }));
    await waitGatedPods(client, ns, oldHash, t);
    await waitFor(async () => (await hookJobs(client, ns)).length === 1, { what: 'the hook Job' });
    await operator.kill('SIGKILL');

    // The Job finishes without the operator; nobody lets the pods go meanwhile.
    await waitFor(async () => (await hookJobs(client, ns)).every(jobSucceeded), {
      what: 'the hook Job to succeed',
      timeoutMs: 60_000,
    });
    const meanwhile = (await pods(client, ns)).filter((p) => hash(p) !== oldHash);
    assert.ok(meanwhile.length > 0 && meanwhile.every(schedulingGated), 'still gated with the operator down');

    await gate.start();
    await waitRolledOut(client, ns, 'web', '2', 120_000);
    const jobs = await hookJobs(client, ns);
    assert.equal(jobs.length, 1, 'exactly one Job for revision 2');
    assert.ok(jobSucceeded(jobs[0] as KubeObject));
    const ps = await pods(client, ns);
    assert.equal(ps.length, 2);
    assert.ok(
      ps.every((p) => running(p) && !gated(p) && hash(p) !== oldHash),
      'every pod of revision 2 runs',
    );
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'revision 2 succeeded',
      (x) => lastRun(x)?.phase === 'Succeeded',
    );
    assert.equal(lastRun(h)?.jobName, jobs[0]?.metadata.name);
  });

  it('a revision whose pods escaped the gate (no webhook covered them) still runs its hook, late, with a Warning', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'before-late');
    await startOperator(t, { namespaces: [ns] }); // no admission webhook at all
    await client.apply(Resources.deployments, deployment(ns, 'web', { replicas: 2, image: 'web:1' }));
    await waitRolledOut(client, ns, 'web', '1');
    const template = { spec: { spec: { containers: [migrate] } } };
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, when: 'BeforeRollout', template }),
    );
    await waitHook(
      client,
      ns,
      'migrate',
      'baseline 1',
      (h) => h.status?.deployments?.[0]?.baselineRevision === '1',
    );
    assert.equal((await hookJobs(client, ns)).length, 0, 'nothing for the revision the hook found');

    await client.apply(Resources.deployments, deployment(ns, 'web', { replicas: 2, image: 'web:2' }));
    await waitRolledOut(client, ns, 'web', '2');
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'revision 2 ran late',
      (x) => lastRun(x)?.revision === '2',
    );
    assert.equal((await hookJobs(client, ns)).length, 1);
    assert.equal(lastRun(h)?.revision, '2');
    const late = await waitFor(
      async () => (await eventsFor(client, ns, 'web')).find((e) => e.reason === 'HookLate'),
      { what: 'a HookLate Event on the Deployment' },
    );
    assert.equal(late.type, 'Warning');
    assert.match(late.note, /revision 2 rolled out without its pods being gated/i);
  });

  it('a Deployment the cache does not hold yet is read from the API server, not taken for gone', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'before-lookup');
    await client.apply(
      Resources.deployments,
      deployment(ns, 'web', { labels: { app: 'web', 'bosun.dev/opt-in': 'yes' } }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'plain'));
    const lagging = { get: () => undefined };
    const read = deploymentLookup(lagging, client);
    assert.equal((await read(ns, 'web'))?.metadata.name, 'web');
    assert.equal(await read(ns, 'gone'), undefined);
    const optedIn = deploymentLookup(lagging, client, 'bosun.dev/opt-in');
    assert.equal((await optedIn(ns, 'web'))?.metadata.name, 'web');
    assert.equal(await optedIn(ns, 'plain'), undefined, 'without the opt-in label it is not the hooks’');
  });
});
