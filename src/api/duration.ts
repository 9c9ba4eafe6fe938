// Durations in spec fields ("6h", "30m", "1h30m", "500ms"): the Go
// time.ParseDuration subset Kubernetes users already write in other CRDs,
// without signs or the µs/ns units nobody needs for schedules and cooldowns.

/** Anchored pattern shared by the zod schema and the CRD (RE2 and ECMAScript compatible). */
export const DURATION_PATTERN = '^([0-9]{1,9}(\\.[0-9]{1,9})?(ms|s|m|h))+$';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration string; throws on anything DURATION_PATTERN rejects. */
export function parseDuration(text: string): number {
  if (!new RegExp(DURATION_PATTERN).test(text)) throw new Error(`invalid duration "${text}" (expected e.g. 30s, 5m, 6h, 1h30m)`);
  let total = 0;
  for (const m of text.matchAll(/([0-9.]+)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(total);
}
