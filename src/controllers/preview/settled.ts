// Previews with nothing to do. planPreview is pure: the same inputs give the same plan. A preview
// whose last plan was empty is not planned again while nothing it read has changed (its own
// resourceVersion, its repository's spec, its Deployment's, the Jobs and templates it looked up,
// its grants), so a pass over a repository of 10,000 settled previews plans only the few that moved.
// Only a cache of "nothing to do": a new process starts empty and plans everything once.
import { sameJson } from '../../runtime/status.ts';
import type { PreviewPlan } from './lifecycle.ts';
import type { PreviewObject } from './model.ts';

/** The names a plan looked up; their versions are part of its inputs. */
export interface Reads {
  templates: string[];
  jobs: string[];
}

/**
 * The versions of everything a plan read, "" for an object that is absent: compared one by one,
 * so that checking 10,000 settled previews builds no string.
 */
export type Versions = (reads: Reads) => readonly (string | number)[];

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
  private readonly settled = new Map<string, { reads: Reads; versions: readonly (string | number)[] }>();

  /** True when the preview's last plan was empty and nothing it read has changed since. */
  unchanged(key: string, versions: Versions): boolean {
    const s = this.settled.get(key);
    if (s === undefined) return false;
    const now = versions(s.reads);
    return now.length === s.versions.length && now.every((v, i) => v === s.versions[i]);
  }

  /** Records the outcome of planning: remembered when empty, forgotten otherwise. */
  planned(key: string, empty: boolean, reads: Reads, versions: Versions): void {
    if (empty) this.settled.set(key, { reads, versions: versions(reads) });
    else this.settled.delete(key);
  }

  forget(key: string): void {
    this.settled.delete(key);
  }

  get size(): number {
    return this.settled.size;
  }
}
