// In a container, `fluxora` is PID 1, and the kernel delivers no signal to
// PID 1 that has no handler: without one, SIGTERM from the kubelet (a pod
// deletion, an eviction, a Job's activeDeadlineSeconds) is ignored and the
// pod only stops at SIGKILL, a whole grace period later. Subcommands with no
// shutdown of their own (train, drift-check) exit at once, with the status a
// shell reports for a signalled process (128 + signal number).
import { constants } from 'node:os';

export function exitOnTerminationSignals(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      process.stderr.write(`fluxora: stopped by ${signal}\n`);
      process.exit(128 + constants.signals[signal]);
    });
  }
}
