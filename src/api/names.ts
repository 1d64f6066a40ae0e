// Deterministic names and label values that fit Kubernetes' 63-character limits: short inputs are
// kept readable, long ones are truncated and made unique again with a hash of the full value.
import { createHash } from 'node:crypto';

export const shortHash = (value: string, length = 8) =>
  createHash('sha256').update(value).digest('hex').slice(0, length);

/** Joins parts with '-'; if longer than `max`, truncates and appends a hash of the whole. */
export function boundedName(parts: string[], max = 63): string {
  const joined = parts.filter(Boolean).join('-').toLowerCase();
  if (joined.length <= max) return joined;
  const hash = shortHash(joined);
  const head = joined.slice(0, max - hash.length - 1).replace(/[-.]+$/, '');
  return `${head}-${hash}`;
}

/** A label value (≤ 63 characters, alphanumeric at both ends) standing for `value`. */
export function labelValue(value: string): string {
  if (value.length <= 63) return value;
  const hash = shortHash(value);
  return `${value.slice(0, 63 - hash.length - 1).replace(/[^a-zA-Z0-9]+$/, '')}-${hash}`;
}
