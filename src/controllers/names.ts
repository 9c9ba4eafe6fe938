// Names of the objects a resource owns. Kubernetes caps them (a CronJob at
// 52 characters, so its Jobs fit in 63; a Job at 63, since its name is a label
// value), so a long name must be shortened; cutting alone would give two
// resources that share a prefix one child, and the second would take it over.
// A hash of the whole name keeps shortened names apart.
import { createHash } from 'node:crypto';

const HASH_LENGTH = 8;

/**
 * `${base}-${suffix}` (or `base` with no suffix) when it fits in `max`
 * characters; otherwise the base cut short, then 8 hex digits of the whole
 * base's sha256, then the suffix.
 */
export function childName(base: string, suffix: string, max: number): string {
  const full = suffix ? `${base}-${suffix}` : base;
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, HASH_LENGTH);
  const tail = suffix ? `-${hash}-${suffix}` : `-${hash}`;
  const room = max - tail.length;
  if (room < 1) throw new Error(`childName: suffix "${suffix}" leaves no room in ${max} characters`);
  return `${base.slice(0, room).replace(/[-.]+$/, '')}${tail}`;
}
