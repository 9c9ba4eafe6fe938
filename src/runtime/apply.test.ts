import { describe, expect, it } from 'vitest';
import { mergePatchFrom } from './apply.js';

/** RFC 7386 MergePatch, as the API server applies application/merge-patch+json. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

describe('mergePatchFrom', () => {
  // The status of a Model whose v2 was rolled out (Direct), then v3 became a Canary candidate.
  const prev = {
    servingVersion: 'v2',
    promotion: {
      promotedVersion: 'v2',
      candidate: { version: 'v2', phase: 'Promoted', verdict: 'Promote', message: 'strategy Direct: rolled out at once', decidedAt: '2026-12-03T22:43:11Z' },
      guard: { version: 'v2', verdict: 'Watching' },
    },
    conditions: [{ type: 'Ready' }, { type: 'Promotion' }],
  };
  const next = {
    servingVersion: 'v2',
    promotion: { promotedVersion: 'v2', candidate: { version: 'v3', phase: 'Canary', step: 0, guard: undefined } },
    conditions: [{ type: 'Ready' }],
  };

  it('applied by the API server, gives exactly the new status: keys the new one lacks go, at every depth', () => {
    expect(applyMergePatch(prev, mergePatchFrom(prev, next))).toEqual({
      servingVersion: 'v2',
      promotion: { promotedVersion: 'v2', candidate: { version: 'v3', phase: 'Canary', step: 0 } },
      conditions: [{ type: 'Ready' }],
    });
    // The plain new status as a merge patch keeps the old candidate's verdict: the bug this prevents.
    expect(applyMergePatch(prev, next)).toMatchObject({ promotion: { candidate: { version: 'v3', decidedAt: '2026-12-03T22:43:11Z' }, guard: { version: 'v2' } } });
  });

  it('says null only for what goes', () => {
    expect(mergePatchFrom(prev, next)).toEqual({
      servingVersion: 'v2',
      promotion: { promotedVersion: 'v2', guard: null, candidate: { version: 'v3', phase: 'Canary', step: 0, verdict: null, message: null, decidedAt: null } },
      conditions: [{ type: 'Ready' }],
    });
    expect(mergePatchFrom(undefined, next)).toBe(next);
    expect(mergePatchFrom({ a: { b: 1 } }, { a: [1] })).toEqual({ a: [1] });
  });
});
