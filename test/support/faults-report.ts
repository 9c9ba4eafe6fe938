// Records this test file's section of the fault-injection report (see faults-summary.ts).
import { inject } from 'vitest';
import { writeSection, type FaultSection } from './faults-summary.js';

export function recordSection(s: FaultSection): void {
  writeSection(inject('faultsRunDir'), s);
}
