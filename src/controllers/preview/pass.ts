// The pure part of one pass over a repository: capacity over all its previews, then a plan for
// each live preview whose inputs changed since its last empty plan (settled.ts). Previews being
// deleted are undeployed under keys of their own (undeploy-controller.ts). The controller reads
// the snapshot from its caches and acts on the plans; bench/preview-pass.ts times this alone.
import type { KubeObject } from '../../runtime/kube-client.ts';
import { jobFinished } from '../job-outcome.ts';
import type { Planned } from './batch.ts';
import { type Grants, type InitJob, planCapacity } from './capacity.ts';
import { deployable, planPreview } from './lifecycle.ts';
import {
  type Caps,
  isDeleting,
  type PreviewObject,
  type RepositoryObject,
  type TemplateObject,
} from './model.ts';
import { isEmptyPlan, newReads, noting, type PassInputs, type SettledPreviews } from './settled.ts';

export interface PassSnapshot {
  namespace: string;
  repository?: RepositoryObject;
  previews: PreviewObject[];
  caps: Caps;
  deployment: (p: PreviewObject) => KubeObject | undefined;
  job: (name: string) => KubeObject | undefined;
  template: (name: string) => TemplateObject | undefined;
  now: Date;
}

export interface PassPlan {
  grants: Grants;
  /** The previews with something to do, in list order. */
  plans: Planned[];
  /** How many previews were planned (the others were settled). */
  planned: number;
}

/**
 * A plan reads the repository's name and spec only: its generation stands for it, so the status
 * a pass writes to the repository (its counts) does not make every preview's plan stale.
 */
const specVersion = (o: KubeObject | undefined) => (o ? `${o.metadata.uid}/${o.metadata.generation}` : '');

export function planPass(snap: PassSnapshot, settled: SettledPreviews): PassPlan {
  const { repository, previews, deployment, job, template, now } = snap;
  const blocked = (p: PreviewObject) => !deployable({ preview: p, repository, template });
  const initJob = (p: PreviewObject): InitJob => {
    const init = p.status?.initJobName ? job(p.status.initJobName) : undefined;
    return init && (jobFinished(init) ? 'finished' : 'running');
  };
  // Looked up once: capacity and the settled check both need every preview's Deployment, and at
  // 10,000 previews these lookups were the largest part of a pass.
  const deployments = previews.map(deployment);
  const grants = planCapacity(previews, (_, i) => deployments[i], snap.caps, blocked, initJob);
  const inputs: PassInputs = { repository: specVersion(repository), template, job };
  const bits = grantBits(grants);
  const plans: Planned[] = [];
  let planned = 0;
  for (let i = 0; i < previews.length; i++) {
    const preview = previews[i] as PreviewObject;
    if (isDeleting(preview)) continue;
    const granted = bits.get(preview.metadata.name as string) ?? 0;
    const d = deployments[i];
    // The uid string comes from the cached object: its hash is computed once, not on every pass.
    const key = preview.metadata.uid ?? `${snap.namespace}/${preview.metadata.name}`;
    if (settled.unchanged(key, preview, d, granted, inputs)) continue;
    planned++;
    const reads = newReads();
    const planWith = (bits: number) =>
      planPreview({
        preview,
        repository,
        template: noting(reads.templates, template),
        job: noting(reads.jobs, job),
        deployment: d,
        grants: {
          admit: (bits & ADMIT) !== 0,
          initialize: (bits & INITIALIZE) !== 0,
          run: (bits & RUN) !== 0,
          stop: (bits & STOP) !== 0,
          undeploy: (bits & UNDEPLOY) !== 0,
        },
        now,
      });
    const plan = planWith(granted);
    const empty = isEmptyPlan(preview, plan);
    settled.planned(key, empty, { preview, deployment: d, granted, reads }, inputs);
    if (empty) continue;
    const after = grants.admitAfter.get(preview.metadata.name as string);
    // Should that undeploy not go through, the preview records that it waits, as without the grant.
    plans.push(after === undefined ? { preview, plan } : { preview, plan, after, orElse: planWith(0) });
  }
  return { grants, plans, planned };
}

const [ADMIT, INITIALIZE, RUN, STOP, UNDEPLOY] = [1, 2, 4, 8, 16];

/** Each granted preview's grants as bits: one lookup per preview and pass, not five. */
function grantBits(grants: Grants): Map<string, number> {
  const bits = new Map<string, number>();
  const add = (names: Set<string>, bit: number) => {
    for (const n of names) bits.set(n, (bits.get(n) ?? 0) | bit);
  };
  add(grants.admit, ADMIT);
  add(grants.initialize, INITIALIZE);
  add(grants.run, RUN);
  add(grants.stop, STOP);
  add(grants.undeploy, UNDEPLOY);
  return bits;
}
