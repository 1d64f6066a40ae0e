// Label selectors: label syntax as the API server checks it, and matching as it does it.
import type { LabelSelector } from './common.ts';

/** A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export const LABEL_KEY_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** A label value: empty, or at most 63 alphanumerics, '-', '_' and '.', alphanumeric at both ends. */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
export const LABEL_KEY_MAX = 317;

const keyRe = new RegExp(LABEL_KEY_PATTERN);
const valueRe = new RegExp(LABEL_VALUE_PATTERN);
export const isLabelKey = (k: string) => k.length <= LABEL_KEY_MAX && keyRe.test(k);
export const isLabelValue = (v: string) => valueRe.test(v);

export const LABEL_KEY_MESSAGE =
  "must be a label key: an optional DNS subdomain prefix and '/', then 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. app or example.com/tier)";
export const LABEL_VALUE_MESSAGE =
  "must be a label value: empty, or 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

export function matchesSelector(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key] as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key] as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
