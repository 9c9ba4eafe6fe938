// The one line a pod's `kubectl describe` (and the operator) should see when
// a process gives up: Kubernetes mounts a file at the container's
// terminationMessagePath (/dev/termination-log by default) and copies what is
// written there into the container's terminated state. Outside a pod the file
// does not exist and nothing is written.
import { existsSync, writeFileSync } from 'node:fs';

/** The kubelet keeps at most 4096 bytes of a termination message. */
const MAX_BYTES = 4096;

export function writeTerminationMessage(line: string, path = process.env.FLUXORA_TERMINATION_LOG ?? '/dev/termination-log'): void {
  if (!existsSync(path)) return;
  const bytes = Buffer.from(line, 'utf8');
  try {
    writeFileSync(path, bytes.length <= MAX_BYTES ? bytes : bytes.subarray(0, MAX_BYTES));
  } catch {
    // Best effort: the log line already says the same.
  }
}
