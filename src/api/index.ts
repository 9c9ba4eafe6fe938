// The fluxora.io/v1alpha1 API: zod schemas (the single source of truth), the
// TypeScript types inferred from them and the REST coordinates of each kind.
export {
  API_GROUP,
  API_VERSION,
  GROUP_VERSION,
  ConditionSchema,
  ConditionsSchema,
  DNS_1035_LABEL_PATTERN,
  LocalObjectReferenceSchema,
  ObjectMetaSchema,
  QuantitySchema,
  ResourceRequirementsSchema,
  STORAGE_URI_PATTERN,
  StorageUriSchema,
  type Condition,
  type KindResource,
  type LocalObjectReference,
  type ObjectMeta,
  type ResourceRequirements,
} from './common.js';
export { CRON_PATTERN } from './cron.js';
export { DURATION_PATTERN, parseDuration } from './duration.js';
export {
  MODEL_VERSIONS_MAX,
  ModelResource,
  ModelSchema,
  ModelSpecSchema,
  ModelStatusSchema,
  type Model,
  type ModelSpec,
  type ModelSpecInput,
  type ModelStatus,
  type ModelVersion,
} from './model.js';
export {
  DRIFT_METHODS,
  DriftMonitorResource,
  DriftMonitorSchema,
  DriftMonitorSpecSchema,
  DriftMonitorStatusSchema,
  UNIT_BOUNDED_METHODS,
  type DriftMethod,
  type DriftMonitor,
  type DriftMonitorFeatureResult,
  type DriftMonitorSpec,
  type DriftMonitorSpecInput,
  type DriftMonitorStatus,
} from './drift-monitor.js';
export {
  ACCEPTANCE_METRICS,
  BUILTIN_ALGORITHMS,
  RETRAIN_PHASES,
  RetrainJobResource,
  RetrainJobSchema,
  RetrainJobSpecSchema,
  RetrainJobStatusSchema,
  RetrainJobTemplateSchema,
  type AcceptanceMetric,
  type RetrainJob,
  type RetrainJobPhase,
  type RetrainJobSpec,
  type RetrainJobSpecInput,
  type RetrainJobStatus,
  type RetrainJobTemplate,
} from './retrain-job.js';
export { assertSpec, parseSpec, type FluxoraKind, type SpecIssue, type SpecParseResult, type SpecTypes } from './parse.js';
