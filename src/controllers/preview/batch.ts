// How much of a pass acts at once, and in which order. A pass acts on at most MAX_ACTS previews
// and is then run again: after an outage or a mass creation, one pass with thousands of previews
// to act on would hold back every other step of the repository (an initialization that finished,
// a start) until all of them were written. What frees or uses capacity already held goes first,
// new previews last: an admission that waits for an undeploy of the same pass starts after it.
import type { PreviewPlan } from './lifecycle.ts';
import { isDeleting, type PreviewObject } from './model.ts';

export const MAX_ACTS = 256;

export interface Planned {
  preview: PreviewObject;
  plan: PreviewPlan;
  /** The preview whose undeploy frees this one's deploy slot (Grants.admitAfter)... */
  after?: string;
  /** ...and the plan without that slot, to act on should the undeploy not go through. */
  orElse?: PreviewPlan;
}

/** 0: undeploying or to undeploy; 1: admitted; 2: not admitted yet. */
const rank = ({ preview, plan }: Planned) =>
  isDeleting(preview) || plan.undeploy ? 0 : preview.status?.admittedAt ? 1 : 2;

/** The plans to act on in this pass, in order of rank (stable within one), and whether any wait. */
export function nextBatch(plans: Planned[], limit = MAX_ACTS): { batch: Planned[]; more: boolean } {
  const ranked = plans.map((p, i) => ({ p, r: rank(p), i })).sort((a, b) => a.r - b.r || a.i - b.i);
  return { batch: ranked.slice(0, limit).map((x) => x.p), more: plans.length > limit };
}
