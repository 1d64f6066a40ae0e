// The pure part of one pass over a repository: capacity over all its previews, then a plan for
// each preview whose inputs changed since its last empty plan (settled.ts). The controller reads
// the snapshot from its caches and acts on the plans; bench/preview-pass.ts times this alone.
import type { KubeObject } from '../../runtime/kube-client.ts';
import type { Planned } from './batch.ts';
import { type Grants, planCapacity } from './capacity.ts';
import { deployable, type PreviewGrants, planPreview } from './lifecycle.ts';
import type { Caps, PreviewObject, RepositoryObject, TemplateObject } from './model.ts';
import { grantBits, isEmptyPlan, newReads, noting, type Reads, type SettledPreviews } from './settled.ts';

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

const version = (o: KubeObject | undefined) => o?.metadata.resourceVersion ?? '';
/**
 * A plan reads the repository's name and spec only: its generation stands for it, so the status
 * a pass writes to the repository (its counts) does not make every preview's plan stale.
 */
const specVersion = (o: KubeObject | undefined) => (o ? `${o.metadata.uid}/${o.metadata.generation}` : '');

export function planPass(snap: PassSnapshot, settled: SettledPreviews): PassPlan {
  const { repository, previews, deployment, job, template, now } = snap;
  const blocked = (p: PreviewObject) => !deployable({ preview: p, repository, template });
  const initFinished = (p: PreviewObject) => {
    const init = p.status?.initJobName ? job(p.status.initJobName) : undefined;
    return !!init && jobFinished(init);
  };
  const grants = planCapacity(previews, deployment, snap.caps, blocked, initFinished);
  const repositoryVersion = specVersion(repository);
  const plans: Planned[] = [];
  let planned = 0;
  for (const p of previews) {
    const n = p.metadata.name as string;
    const g: PreviewGrants = {
      admit: grants.admit.has(n),
      initialize: grants.initialize.has(n),
      run: grants.run.has(n),
      stop: grants.stop.has(n),
      undeploy: grants.undeploy.has(n),
    };
    const signature = (reads: Reads) =>
      [
        version(p),
        repositoryVersion,
        version(deployment(p)),
        grantBits(g),
        ...reads.templates.map((t) => version(template(t))),
        ...reads.jobs.map((j) => version(job(j))),
      ].join('|');
    const key = `${snap.namespace}/${n}`;
    if (settled.unchanged(key, signature)) continue;
    planned++;
    const reads = newReads();
    const plan = planPreview({
      preview: p,
      repository,
      template: noting(reads.templates, template),
      job: noting(reads.jobs, job),
      deployment: deployment(p),
      grants: g,
      now,
    });
    const empty = isEmptyPlan(p, plan);
    settled.planned(key, empty, reads, signature);
    if (!empty) plans.push({ preview: p, plan });
  }
  return { grants, plans, planned };
}

/** Complete or Failed: the Job holds no initialization slot any more. */
const jobFinished = (j: KubeObject) =>
  (j.status?.conditions ?? []).some(
    (c: { type: string; status: string }) =>
      (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
