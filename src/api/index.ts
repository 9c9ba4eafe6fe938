// The fluxora.io/v1alpha1 API: zod schemas (the single source of truth), the
// TypeScript types inferred from them, the REST coordinates of each kind
// (<Kind>Resource) and parseSpec for defensive, defaulting validation.
// CRD generation (crd.ts, crd-files.ts, structural.ts) is deliberately not
// re-exported: the operator never needs it at run time.
export * from './common.js';
export { CRON_PATTERN } from './cron.js';
export { DURATION_PATTERN, parseDuration } from './duration.js';
export * from './model.js';
export * from './promotion.js';
export * from './drift-monitor.js';
export * from './performance.js';
export * from './retrain-job.js';
export * from './parse.js';
