// Previews with nothing to do. planPreview is pure: the same inputs give the same plan. A preview
// whose last plan was empty is not planned again while nothing it read has changed (its own
// resourceVersion, its repository's spec, its Deployment's, the Jobs and templates it looked up,
// its grants), so a pass over a repository of 10,000 settled previews plans only the few that moved.
// Only a cache of "nothing to do": a new process starts empty and plans everything once.

import type { KubeObject } from '../../runtime/kube-client.ts';
import { sameJson } from '../../runtime/status.ts';
import type { PreviewPlan } from './lifecycle.ts';
import type { PreviewObject } from './model.ts';

/** The names a plan looked up; the objects of those names are part of its inputs. */
export interface Reads {
  templates: string[];
  jobs: string[];
}

/** The inputs every plan of a pass shares. */
export interface PassInputs {
  /** The repository's spec as one string (uid and generation): not the counts a pass writes. */
  repository: string;
  template: (name: string) => KubeObject | undefined;
  job: (name: string) => KubeObject | undefined;
}

/** One preview's inputs, as its last (empty) plan saw them. */
interface Seen {
  preview: PreviewObject;
  deployment: KubeObject | undefined;
  repository: string;
  granted: number;
  reads: Reads;
  templates: (KubeObject | undefined)[];
  jobs: (KubeObject | undefined)[];
}

/**
 * The same object version: a watch cache replaces an object on every change, so identity is the
 * fast answer; after a relist the resourceVersion tells.
 */
const same = (a: KubeObject | undefined, b: KubeObject | undefined) =>
  a === b ||
  (a !== undefined && b !== undefined && a.metadata.resourceVersion === b.metadata.resourceVersion);

const allSame = (
  names: string[],
  seen: (KubeObject | undefined)[],
  lookup: (n: string) => KubeObject | undefined,
) => names.every((n, i) => same(lookup(n), seen[i]));

export const newReads = (): Reads => ({ templates: [], jobs: [] });

/** `lookup`, noting in `names` each name it is asked for. */
export const noting =
  <T>(names: string[], lookup: (name: string) => T) =>
  (name: string): T => {
    if (!names.includes(name)) names.push(name);
    return lookup(name);
  };

/** True when acting on the plan would change nothing: no write, no child, no Event. */
export function isEmptyPlan(preview: PreviewObject, plan: PreviewPlan): boolean {
  return (
    !plan.addFinalizer &&
    !plan.stop &&
    !plan.undeploy &&
    !plan.purge &&
    plan.create.length === 0 &&
    plan.deleteJobs.length === 0 &&
    plan.events.length === 0 &&
    plan.apply === undefined &&
    plan.scale === undefined &&
    sameJson(preview.status ?? {}, plan.status)
  );
}

export class SettledPreviews {
  private readonly settled = new Map<string, Seen>();

  /**
   * True when the preview's last plan was empty and nothing it read has changed since. Compared
   * object by object, without building anything: a pass checks every settled preview.
   */
  unchanged(
    key: string,
    preview: PreviewObject,
    deployment: KubeObject | undefined,
    granted: number,
    inputs: PassInputs,
  ): boolean {
    const s = this.settled.get(key);
    return (
      s !== undefined &&
      same(s.preview, preview) &&
      same(s.deployment, deployment) &&
      s.granted === granted &&
      s.repository === inputs.repository &&
      allSame(s.reads.templates, s.templates, inputs.template) &&
      allSame(s.reads.jobs, s.jobs, inputs.job)
    );
  }

  /** Records the outcome of planning: remembered when empty, forgotten otherwise. */
  planned(
    key: string,
    empty: boolean,
    seen: { preview: PreviewObject; deployment: KubeObject | undefined; granted: number; reads: Reads },
    inputs: PassInputs,
  ): void {
    if (!empty) {
      this.settled.delete(key);
      return;
    }
    this.settled.set(key, {
      ...seen,
      repository: inputs.repository,
      templates: seen.reads.templates.map(inputs.template),
      jobs: seen.reads.jobs.map(inputs.job),
    });
  }

  forget(key: string): void {
    this.settled.delete(key);
  }

  get size(): number {
    return this.settled.size;
  }
}
