// The custom resources the fault scenarios create, and the trainer output a
// RetrainJob's run reads (written by the test at the run's prefix, standing in
// for the trainer process: kwok completes the Job's pod without running it).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { kubeTime } from '../../src/runtime/conditions.js';
import { resourcePath, isConflict, type KubeClient } from '../../src/runtime/kube-client.js';
import { DriftMonitorType } from '../../src/controllers/fluxora-types.js';

export const SERVING_IMAGE = 'fluxora:test';
/** A schedule that never fires during a test run: checks are driven by the test itself. */
export const NEVER = '0 0 1 1 *';

export function model(ns: string, name: string, o: { replicas?: number; version?: number } = {}): Model {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'Model',
    metadata: { name, namespace: ns },
    spec: {
      artifact: { uri: `file:///models/${name}/v${o.version ?? 1}.onnx` },
      features: [{ name: 'x', type: 'numeric' }],
      ...(o.replicas !== undefined ? { serving: { replicas: o.replicas } } : {}),
    },
  } as unknown as Model;
}

/** A monitor whose retrain template writes runs under `outputDir`/drift. */
export function driftMonitor(ns: string, name: string, modelName: string, outputDir: string): DriftMonitor {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'DriftMonitor',
    metadata: { name, namespace: ns },
    spec: {
      modelRef: { name: modelName },
      schedule: NEVER,
      reference: { uri: 'file:///data/reference.csv' },
      current: { uri: 'file:///data/current.csv' },
      retrain: {
        enabled: true,
        consecutiveChecks: 2,
        cooldown: '1h',
        template: {
          trainer: { builtin: { algorithm: 'logistic', target: 'y' } },
          dataset: { uri: 'file:///data/train.csv' },
          output: { uri: `file://${join(outputDir, 'drift')}/` },
        },
      },
    },
  } as unknown as DriftMonitor;
}

export function retrainJob(ns: string, name: string, modelName: string, outputDir: string): RetrainJob {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'RetrainJob',
    metadata: { name, namespace: ns },
    spec: {
      modelRef: { name: modelName },
      trainer: { builtin: { algorithm: 'logistic', target: 'y' } },
      dataset: { uri: 'file:///data/train.csv' },
      output: { uri: `file://${join(outputDir, 'user')}/` },
      backoffLimit: 0,
      activeDeadlineSeconds: 600,
    },
  } as unknown as RetrainJob;
}

/** What the trainer contract says a run leaves at its prefix: model.onnx and metrics.json. */
export async function writeTrainerOutput(prefixDir: string, runName: string): Promise<void> {
  const dir = join(prefixDir, runName);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), `onnx-bytes-of-${runName}`);
  await writeFile(join(dir, 'metrics.json'), JSON.stringify({ auc: 0.9, rows: 100 }));
}

export interface Verdict {
  lastCheckTime: string;
  driftDetected: boolean;
  consecutiveDriftChecks: number;
}

/**
 * Writes a drift verdict to a monitor's status the way `fluxora drift-check`
 * does: a merge patch guarded by resourceVersion, re-read on 409 (the
 * operator writes the same status).
 */
export async function writeVerdict(
  client: KubeClient,
  ns: string,
  name: string,
  driftDetected: boolean,
  consecutive: number,
  lastCheckTime = kubeTime(new Date()),
): Promise<Verdict> {
  const verdict: Verdict = { lastCheckTime, driftDetected, consecutiveDriftChecks: consecutive };
  for (let attempt = 0; ; attempt++) {
    const m = await client.get<DriftMonitor>(DriftMonitorType, ns, name);
    try {
      await client.request('PATCH', resourcePath(DriftMonitorType, ns, name, 'status'), {
        body: {
          metadata: { resourceVersion: m.metadata.resourceVersion },
          status: {
            ...verdict,
            driftShare: driftDetected ? 1 : 0,
            sampleCount: 500,
            features: [{ name: 'x', method: 'ks', score: driftDetected ? 0.5 : 0.01, pValue: driftDetected ? 0.001 : 0.9, threshold: 0.05, drifted: driftDetected }],
          },
        },
        contentType: 'application/merge-patch+json',
      });
      return verdict;
    } catch (e) {
      if (!isConflict(e) || attempt >= 20) throw e;
    }
  }
}

/** A JSON merge patch of a custom resource's spec (a user's `kubectl patch --type merge`). */
export function patchSpec(client: KubeClient, type: Parameters<typeof resourcePath>[0], ns: string, name: string, spec: Record<string, unknown>) {
  return client.request('PATCH', resourcePath(type, ns, name), { body: { spec }, contentType: 'application/merge-patch+json' });
}
