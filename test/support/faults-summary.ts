// The fault-injection report: every test file records one section (what it
// broke, how many objects it checked, duplicates found, how long convergence
// took) as a JSON file in the run directory; the global teardown folds the
// sections into one report, prints it and writes report.json next to them.
// No vitest imports here: the teardown runs outside a test worker.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FaultSection {
  /** The test file's scenario, e.g. "operator-kill". */
  name: string;
  /** Operator processes killed with SIGKILL after which the operator came back and converged. */
  killsSurvived: number;
  /** Objects whose final state was verified (primaries and their children). */
  objectsChecked: number;
  /** Children beyond one per owner and kind, plus extra RetrainJobs per drift verdict: must be 0. */
  duplicatesFound: number;
  /** Per-object time from the last fault to a verified converged state. */
  convergenceMs: number[];
  details: Record<string, unknown>;
}

export interface FaultReport {
  seed: number;
  sections: (Omit<FaultSection, 'convergenceMs'> & { convergence: { n: number; p50Ms: number; p99Ms: number } })[];
  killsSurvived: number;
  objectsChecked: number;
  duplicatesFound: number;
  convergence: { n: number; p50Ms: number; p99Ms: number };
}

/** Nearest-rank percentile (p in 0..100); 0 for no samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

const convergence = (ms: readonly number[]) => ({ n: ms.length, p50Ms: Math.round(percentile(ms, 50)), p99Ms: Math.round(percentile(ms, 99)) });

export const sectionFile = (runDir: string, name: string): string => join(runDir, `section-${name}.json`);

export function writeSection(runDir: string, s: FaultSection): void {
  writeFileSync(sectionFile(runDir, s.name), JSON.stringify(s, null, 2));
}

export function summarize(runDir: string, seed: number): FaultReport {
  const sections = readdirSync(runDir)
    .filter((f) => f.startsWith('section-') && f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(runDir, f), 'utf8')) as FaultSection);
  const all = sections.flatMap((s) => s.convergenceMs);
  return {
    seed,
    sections: sections.map(({ convergenceMs, ...rest }) => ({ ...rest, convergence: convergence(convergenceMs) })),
    killsSurvived: sections.reduce((n, s) => n + s.killsSurvived, 0),
    objectsChecked: sections.reduce((n, s) => n + s.objectsChecked, 0),
    duplicatesFound: sections.reduce((n, s) => n + s.duplicatesFound, 0),
    convergence: convergence(all),
  };
}

export function formatReport(r: FaultReport): string {
  const lines = [
    '== fault-injection report',
    `seed ${r.seed} (replay with FLUXORA_FAULTS_SEED=${r.seed} npm run test:faults)`,
    `kills survived:    ${r.killsSurvived}`,
    `objects checked:   ${r.objectsChecked}`,
    `duplicates found:  ${r.duplicatesFound}`,
    `convergence:       p50 ${r.convergence.p50Ms} ms, p99 ${r.convergence.p99Ms} ms (n=${r.convergence.n})`,
  ];
  for (const s of r.sections) {
    lines.push(
      `  ${s.name}: kills ${s.killsSurvived}, objects ${s.objectsChecked}, duplicates ${s.duplicatesFound}, ` +
        `convergence p50 ${s.convergence.p50Ms} ms p99 ${s.convergence.p99Ms} ms (n=${s.convergence.n}); ${JSON.stringify(s.details)}`,
    );
  }
  return lines.join('\n');
}
