// Validation of the PromotionConfig the operator PUTs on the admin port: a
// 400 that names the field, before anything changes. Unknown fields are
// ignored, so a newer operator can talk to an older serving pod.
import type { PromotionConfig } from '../promotion/figures.js';
import { badRequest } from './http-error.js';

export const MAX_ANALYSIS_LENGTH = 128;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function httpUrl(raw: unknown): string {
  if (typeof raw === 'string') {
    try {
      const u = new URL(raw);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '') return raw;
    } catch {
      // reported below
    }
  }
  throw badRequest(`"mirror.url" must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
}

export function parsePromotionConfig(body: unknown): PromotionConfig {
  if (!isObject(body)) throw badRequest('the body must be a JSON object {"analysis": "...", "mirror"?: {...}}');
  const { analysis, mirror, rebalance } = body;
  if (typeof analysis !== 'string' || analysis.length > MAX_ANALYSIS_LENGTH) {
    throw badRequest(`"analysis" must be a string of at most ${MAX_ANALYSIS_LENGTH} characters ("" ends the analysis)`);
  }
  if (rebalance !== undefined && typeof rebalance !== 'boolean') throw badRequest(`"rebalance" must be true or false, got ${JSON.stringify(rebalance)}`);
  const extra = rebalance ? { rebalance } : {};
  if (mirror === undefined || mirror === null) return { analysis, ...extra };
  if (!isObject(mirror)) throw badRequest('"mirror" must be an object {"url", "version", "percent"}');
  const url = httpUrl(mirror.url);
  const { version, percent } = mirror;
  if (typeof version !== 'string' || version === '') throw badRequest('"mirror.version" must be a non-empty string (the candidate\'s model_version)');
  if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 1 || percent > 100) {
    throw badRequest(`"mirror.percent" must be an integer from 1 to 100, got ${JSON.stringify(percent)}`);
  }
  return { analysis, mirror: { url, version, percent }, ...extra };
}

/** Where a mirrored request goes: the candidate's V2 infer endpoint under the configured base URL (which may have a path). */
export function mirrorInferUrl(base: string, model: string): URL {
  return new URL(`v2/models/${encodeURIComponent(model)}/infer`, base.endsWith('/') ? base : `${base}/`);
}
