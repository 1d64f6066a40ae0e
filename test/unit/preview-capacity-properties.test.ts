// planCapacity on many random repositories (a fixed seed, so every run checks the same ones): the
// grants never break a cap and only go to previews that may have them, whatever the mix of phases,
// branches, pull requests and Deployments. The table tests in preview-plan.test.ts say which
// previews win; these say that no input makes the planner overstep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type InitJob,
  isInitializing,
  isRunning,
  planCapacity,
} from '../../src/controllers/preview/capacity.ts';
import { isAdmitted, isDeleting, type PreviewObject } from '../../src/controllers/preview/model.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

let seed = 20261124;
const random = () => {
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
};
const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)] as T;
const at = (minute: number) => `2026-11-24T10:${String(minute).padStart(2, '0')}:00Z`;

function repository() {
  const previews: PreviewObject[] = [];
  const deployments = new Map<PreviewObject, KubeObject>();
  const initJobs = new Map<PreviewObject, InitJob>();
  const blocked = new Set<PreviewObject>();
  for (let i = 0, n = 1 + Math.floor(random() * 15); i < n; i++) {
    const admitted = random() < 0.6;
    const p: PreviewObject = {
      metadata: {
        name: `p${i}`,
        creationTimestamp: at(Math.floor(random() * 8)),
        ...(random() < 0.1 ? { deletionTimestamp: at(59) } : {}),
      },
      spec: {
        repository: 'shop',
        branch: pick(['main', 'feature', 'fix']),
        commit: 'abcdef0123',
        ...(random() < 0.5 ? { pullRequest: i + 1, targetBranch: 'main' } : {}),
        state: pick(['Running', 'Stopped'] as const),
      },
      status: admitted
        ? {
            admittedAt: at(Math.floor(random() * 8)),
            phase: pick(['Stopped', 'Failed', 'Running', 'Starting', 'Stopping', 'Initializing'] as const),
            initStatus: pick(['todo', 'initializing', 'ready', 'dropping'] as const),
            replicas: pick([0, 0, 1]),
            ...(random() < 0.5 ? { lastScaled: at(Math.floor(random() * 8)) } : {}),
            ...(random() < 0.5 ? { initQueuedAt: at(Math.floor(random() * 8)) } : {}),
          }
        : {},
    };
    previews.push(p);
    if (random() < 0.3)
      deployments.set(p, {
        metadata: { name: p.metadata.name },
        spec: { replicas: pick([0, 1]) },
        status: { replicas: pick([0, 1]) },
      });
    initJobs.set(p, pick([undefined, undefined, 'running', 'finished'] as const));
    if (!admitted && random() < 0.1) blocked.add(p);
  }
  const caps = {
    maxDeployed: Math.floor(random() * 10),
    maxRunning: Math.floor(random() * 5),
    maxInitializing: Math.floor(random() * 5),
  };
  return { previews, deployments, initJobs, blocked, caps };
}

describe('planCapacity on 5,000 random repositories', () => {
  const repos = Array.from({ length: 5000 }, repository);

  it('never breaks a cap and grants only what a preview may have', () => {
    for (const r of repos) {
      const deployment = (p: PreviewObject) => r.deployments.get(p);
      const initJob = (p: PreviewObject) => r.initJobs.get(p);
      const g = planCapacity(r.previews, deployment, r.caps, (p) => r.blocked.has(p), initJob);
      const byName = new Map(r.previews.map((p) => [p.metadata.name as string, p]));
      const get = (n: string) => byName.get(n) as PreviewObject;
      const live = r.previews.filter((p) => !isDeleting(p));
      const admitted = live.filter(isAdmitted);
      // Previews being undeployed hold no deploy slot, but their pods and init Jobs count.
      const holding = r.previews.filter((p) => isAdmitted(p) || isDeleting(p));
      const running = holding.filter((p) => isRunning(p, deployment(p)));
      const initializing = holding.filter((p) => isInitializing(p, initJob));
      const context = JSON.stringify({
        caps: r.caps,
        grants: { ...g, admit: [...g.admit], admitAfter: [...g.admitAfter] },
      });

      // Deploy slots: only to pending previews, and never past maxDeployed once the undeploys go.
      for (const n of g.admit) {
        assert.ok(!isAdmitted(get(n)) && !isDeleting(get(n)) && !r.blocked.has(get(n)), context);
      }
      assert.ok(
        admitted.length - g.undeploy.size + g.admit.size <= Math.max(r.caps.maxDeployed, admitted.length),
        context,
      );
      // Admissions beyond the free slots each wait for an undeploy of their own: at no moment
      // are more admitted than maxDeployed allows.
      assert.ok(
        g.admit.size - g.admitAfter.size <= Math.max(0, r.caps.maxDeployed - admitted.length),
        context,
      );
      const victims = [...g.admitAfter.values()];
      assert.equal(new Set(victims).size, victims.length, `one undeploy frees one slot: ${context}`);
      for (const [n, victim] of g.admitAfter) {
        assert.ok(g.admit.has(n) && g.undeploy.has(victim), context);
        const newer =
          (get(n).metadata.creationTimestamp as string) > (get(victim).metadata.creationTimestamp as string);
        assert.ok(newer, `a preview replaces only an older one: ${context}`);
      }
      // Undeploys: only idle, admitted previews, never the newest branch preview of its branch.
      for (const n of g.undeploy) {
        const p = get(n);
        assert.ok(isAdmitted(p) && ['Stopped', 'Failed'].includes(p.status?.phase as string), context);
        assert.ok(!running.includes(p) && p.status?.initStatus !== 'initializing', context);
        if (p.spec.pullRequest === undefined) {
          const newer = live.some(
            (q) =>
              q !== p &&
              q.spec.pullRequest === undefined &&
              q.spec.branch === p.spec.branch &&
              ((q.metadata.creationTimestamp as string) > (p.metadata.creationTimestamp as string) ||
                (q.metadata.creationTimestamp === p.metadata.creationTimestamp &&
                  (q.metadata.name as string) > (p.metadata.name as string))),
          );
          assert.ok(newer, `the newest preview of branch ${p.spec.branch} is kept: ${context}`);
        }
      }
      // Initialization slots: only to queued or newly admitted previews, never past the cap.
      for (const n of g.initialize) {
        const p = get(n);
        assert.ok(g.admit.has(n) || (isAdmitted(p) && p.status?.initStatus === 'todo'), context);
      }
      assert.ok(g.initialize.size <= Math.max(0, r.caps.maxInitializing - initializing.length), context);
      // Run slots: starts fit under maxRunning; stops are running previews, and never also run.
      const starts = [...g.run].filter((n) => !running.includes(get(n)));
      assert.ok(starts.length <= Math.max(0, r.caps.maxRunning - running.length), context);
      for (const n of g.run) assert.equal(get(n).spec.state, 'Running', context);
      for (const n of g.stop) {
        assert.ok(running.includes(get(n)) && !g.run.has(n), context);
      }
      assert.deepEqual(
        g.counts,
        {
          deployed: admitted.length,
          running: running.length,
          initializing: initializing.length,
          pending: live.filter((p) => !isAdmitted(p) && !r.blocked.has(p)).length - g.admit.size,
        },
        context,
      );
    }
  });

  it('decides the same from the same inputs, in any order', () => {
    for (const r of repos.slice(0, 500)) {
      const plan = (previews: PreviewObject[]) => {
        const g = planCapacity(
          previews,
          (p) => r.deployments.get(p),
          r.caps,
          (p) => r.blocked.has(p),
          (p) => r.initJobs.get(p),
        );
        return JSON.stringify(
          Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v instanceof Set ? [...v].sort() : v])),
        );
      };
      assert.equal(plan([...r.previews].reverse()), plan(r.previews));
    }
  });
});
