// Vitest global setup for the "faults" project, run before the shared
// control-plane setup (global-setup.ts). The suite SIGKILLs operators and
// restarts kube-apiserver and etcd, so it must never touch the shared default
// control plane other engineers' tests run on: it refuses to start unless
// FLUXORA_CP_DIR / FLUXORA_CP_PORT select a separate instance (what
// `npm run test:faults` sets). It also picks the run's seed and temp dir, and
// at the end prints the report and writes it to <run dir>/report.json.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatReport, summarize } from './faults-summary.js';

declare module 'vitest' {
  export interface ProvidedContext {
    faultsRunDir: string;
    faultsSeed: number;
  }
}

const DEFAULT_PORT = '16443';

function defaultCpDir(): string {
  return resolve(process.env.FLUXORA_CACHE ?? join(homedir(), '.cache', 'fluxora'), 'cp');
}

/** Why this environment may not run fault injection, or undefined when it may. */
export function refusal(env: NodeJS.ProcessEnv): string | undefined {
  if (env.FLUXORA_KUBECONFIG) return 'FLUXORA_KUBECONFIG is set: fault injection kills control-plane processes and must run on its own local instance';
  if (!env.FLUXORA_CP_DIR || !env.FLUXORA_CP_PORT) return 'FLUXORA_CP_DIR and FLUXORA_CP_PORT must select a separate control-plane instance';
  if (env.FLUXORA_CP_PORT === DEFAULT_PORT) return `FLUXORA_CP_PORT=${DEFAULT_PORT} is the shared default instance`;
  if (resolve(env.FLUXORA_CP_DIR) === defaultCpDir()) return `FLUXORA_CP_DIR=${env.FLUXORA_CP_DIR} is the shared default instance`;
  return undefined;
}

function seedFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.FLUXORA_FAULTS_SEED;
  if (raw === undefined || raw === '') return Math.floor(Math.random() * 2 ** 31);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`FLUXORA_FAULTS_SEED must be an integer in [0, 2^32), got "${raw}"`);
  return n;
}

export default function setup(project: TestProject): () => void {
  const why = refusal(process.env);
  if (why) throw new Error(`refusing to run the fault-injection suite: ${why}. Run it with \`npm run test:faults\`.`);
  const seed = seedFrom(process.env);
  const runDir = mkdtempSync(join(tmpdir(), 'fluxora-faults-'));
  project.provide('faultsRunDir', runDir);
  project.provide('faultsSeed', seed);
  console.log(`[faults] seed ${seed} (replay: FLUXORA_FAULTS_SEED=${seed} npm run test:faults); run dir ${runDir}`);
  return () => {
    const report = summarize(runDir, seed);
    const path = join(runDir, 'report.json');
    writeFileSync(path, JSON.stringify(report, null, 2));
    console.log(`\n${formatReport(report)}\nreport written to ${path}`);
  };
}
