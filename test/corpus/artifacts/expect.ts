// The assertions every bad-artifact case shares, for the unit (files, http)
// and integration (S3) runs of the catalogue.
import { expect } from 'vitest';
import type { ArtifactCase } from './cases.js';
import type { ServeRun } from './harness.js';

/** The AWS SDK's process warning about Node 20 (printed by any process that uses the S3 client). */
export const AWS_SDK_NODE_WARNING =
  /^\(node:\d+\) Warning: NodeVersionSupportWarning: [\s\S]*?More information can be found at: \S+\n(\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n)?/m;

/** `fluxora serve` gave up on the artifact: exit 1, one error line naming it, and nothing else to read. */
export function expectRefusedArtifact(run: ServeRun, uri: string, c: Pick<ArtifactCase, 'reason' | 'error'>): void {
  const failures = run.logs.filter((l) => l.msg === 'cannot load the model');
  expect(failures, JSON.stringify(run.logs)).toHaveLength(1);
  // The error as pino serializes an Error: its class, message and stack.
  expect(failures[0]).toMatchObject({
    level: 50,
    uri,
    reason: c.reason,
    err: { type: expect.stringMatching(/Error$/) as unknown, message: c.error.replaceAll('{uri}', uri), stack: expect.stringMatching(/^\w*Error: /) as unknown },
  });
  expect(run.code).toBe(1);
  // No stack trace, no plain-text noise: everything a user reads is the JSON log. The one
  // exception is not ours: the AWS SDK warns once on stderr that it will drop Node 20.
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr.replace(AWS_SDK_NODE_WARNING, '')).toBe('');
  expect(run.otherStdout).toEqual([]);
  expect(run.logs.map((l) => l.msg)).not.toContain('model loaded; ready');
  expect(run.logs.at(-1)?.msg).toBe('drained; stopped');
}

// Cases run concurrently, but never more than two `fluxora serve` processes at once (2-core machines).
let running = 0;
const waiting: (() => void)[] = [];
export async function limited<T>(fn: () => Promise<T>): Promise<T> {
  while (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}
