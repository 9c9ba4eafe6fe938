// One analysis round of a Model's promotion: ask every serving pod (the
// champion's and the candidate's) for its figures, tell the pods that count
// under another analysis which one runs now, and turn the answers into the
// candidate's (or the guard's) figures. The verdict is promotion.ts's.
import type { Logger } from 'pino';
import type { Model, PromotionFigures, PromotionSpec } from '../../api/index.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { promotionPath, type PodFigures, type PromotionConfig } from '../../promotion/figures.js';
import { measureCanary, measureGuard, measureShadow } from '../../promotion/measure.js';
import type { AdminEndpoint, PodAdminReader, PodAnswer } from '../pod-admin.js';
import { candidateName, candidateUrl, serviceName } from './children.js';
import type { Candidate, Guard } from './promotion.js';

export interface PodReport {
  endpoint: AdminEndpoint;
  figures: PodFigures;
}

/** Every ready pod of the Model and of its candidate, each once (a canary pod is behind both Services). */
export async function promotionEndpoints(reader: PodAdminReader, client: KubeClient, model: Model, withCandidate: boolean): Promise<AdminEndpoint[]> {
  const ns = model.metadata.namespace!;
  const lists = await Promise.all([reader.endpoints(client, ns, serviceName(model)), withCandidate ? reader.endpoints(client, ns, candidateName(model)) : []]);
  const seen = new Map<string, AdminEndpoint>();
  for (const e of lists.flat()) if (!seen.has(e.address)) seen.set(e.address, e);
  return [...seen.values()];
}

function parseFigures(x: unknown): PodFigures {
  const f = x as Partial<PodFigures> | null;
  if (!f || typeof f !== 'object' || typeof f.analysis !== 'string' || typeof f.version !== 'string' || typeof f.traffic !== 'object' || f.traffic === null) {
    throw new Error('not a promotion figures document (an older server?)');
  }
  return f as PodFigures;
}

/** GETs the figures of each endpoint; pods that do not answer are left out (and logged). */
export async function readPodFigures(reader: PodAdminReader, endpoints: readonly AdminEndpoint[], model: Model, token: string, log: Logger): Promise<PodReport[]> {
  const answers: PodAnswer<PodFigures>[] = await reader.getEach(endpoints, promotionPath(model.metadata.name), async (res) => parseFigures(await res.json()), { token });
  const out: PodReport[] = [];
  for (const a of answers) {
    if (a.ok) out.push({ endpoint: a.endpoint, figures: a.value });
    else log.warn({ pod: a.endpoint.pod, reason: a.error }, 'a serving pod did not report its promotion figures');
  }
  return out;
}

/** What each pod should count under now, by the version it serves. */
export function desiredConfig(model: Model, spec: PromotionSpec, candidate: Candidate | undefined, guard: Guard | undefined, podVersion: string): PromotionConfig {
  if (candidate) {
    const mirror =
      candidate.strategy === 'Shadow' && podVersion === candidate.champion
        ? { mirror: { url: candidateUrl(model), version: candidate.version, percent: spec.shadow?.mirrorPercent ?? 100 } }
        : {};
    // A canary step closes the clients' older keep-alive connections, so they reconnect and reach the candidate's pods too.
    return { analysis: candidate.analysis, ...mirror, ...(candidate.strategy === 'Canary' ? { rebalance: true } : {}) };
  }
  if (guard && podVersion === guard.version) return { analysis: guard.analysis };
  return { analysis: '' };
}

const sameConfig = (f: PodFigures, want: PromotionConfig) =>
  f.analysis === want.analysis && (want.mirror ? f.mirror?.version === want.mirror.version : true);

/**
 * Tells the pods that count under another analysis (new pods, restarted
 * pods, or all of them when an analysis starts) what to count now. Their
 * figures this round are not the analysis' and are not used.
 */
export async function alignPods(
  reader: PodAdminReader,
  reports: readonly PodReport[],
  want: (podVersion: string) => PromotionConfig,
  model: Model,
  token: string,
  log: Logger,
): Promise<number> {
  const stale = reports.filter((r) => !sameConfig(r.figures, want(r.figures.version)));
  await Promise.all(
    stale.map(async (r) => {
      const [answer] = await reader.getEach([r.endpoint], promotionPath(model.metadata.name), async () => undefined, { token, putJson: want(r.figures.version) });
      if (answer && !answer.ok) log.warn({ pod: r.endpoint.pod, reason: answer.error }, 'could not set the promotion analysis of a serving pod');
    }),
  );
  return stale.length;
}

export function candidateFigures(reports: readonly PodReport[], c: Candidate): PromotionFigures {
  const pods = reports.map((r) => r.figures);
  const o = { analysis: c.analysis, champion: c.champion, candidate: c.version };
  return c.strategy === 'Canary' ? measureCanary(pods, o) : measureShadow(pods, o);
}

export function guardFigures(reports: readonly PodReport[], g: Guard): PromotionFigures {
  return measureGuard(reports.map((r) => r.figures), { analysis: g.analysis, version: g.version, baseline: g.baseline });
}
