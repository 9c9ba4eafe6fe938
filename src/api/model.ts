// Model: an ONNX artifact served by `fluxora serve` behind a Deployment and a
// Service (plus an HPA with autoscaling). status.versions is the bounded
// history the operator serves from; spec.pinnedVersion chooses one by hand.
import { z } from 'zod';
import {
  ConditionsSchema,
  ContainerImageSchema,
  GROUP_VERSION,
  MetricMapSchema,
  ObjectMetaSchema,
  ObservedGenerationSchema,
  ResourceRequirementsSchema,
  SecretReferenceSchema,
  Sha256Schema,
  StorageUriSchema,
  TimeWindowSchema,
  TimestampSchema,
  type KindResource,
} from './common.js';
import { listMap, withRules } from './kube-meta.js';
import { PromotionSpecSchema, PromotionStatusSchema } from './promotion.js';

export const ModelResource = {
  apiVersion: GROUP_VERSION,
  kind: 'Model',
  plural: 'models',
  singular: 'model',
  shortNames: ['fxm'],
  namespaced: true,
} as const satisfies KindResource;

/** Bound of status.versions; the operator trims the oldest entries beyond it. */
export const MODEL_VERSIONS_MAX = 20;

const ArtifactSchema = z
  .object({
    uri: StorageUriSchema.describe(
      'Location of the ONNX model file: s3://bucket/key, http(s)://..., pvc://claim/path or file:///path. Changing it records and rolls out a new version.',
    ),
    sha256: Sha256Schema.optional().describe('Expected SHA-256 of the file; serving pods refuse an artifact that does not match.'),
    credentialsSecretRef: SecretReferenceSchema.optional(),
    trainingData: z
      .object({
        uri: StorageUriSchema.describe('The data set (CSV or JSON Lines) the artifact was trained on, usually the training file or a sample of it.'),
        sha256: Sha256Schema.optional().describe('SHA-256 of that file. Set, a drift check that uses it as its reference refuses a file that no longer matches.'),
      })
      .optional()
      .describe(
        "The data the artifact was trained on. Recorded on the artifact's version (status.versions[].dataset), where a DriftMonitor with " +
          'reference.fromServingVersion finds it while that version serves. Unset: the version records no data set.',
      ),
  })
  .describe('The ONNX model to serve.');

const FeatureSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/)
      .describe('Name of the input column, as in requests and in the data sets (letters, digits, _ . -; at most 128 characters).'),
    type: z
      .enum(['numeric', 'categorical'])
      .describe('numeric (a number) or categorical (a string label); it decides the encoding and the default drift method.'),
  })
  .describe('One input of the model.');

const FeaturesSchema = withRules(listMap(z.array(FeatureSchema).min(1).max(256), ['name']), [
  {
    rule: 'self.all(f, self.exists_one(g, g.name == f.name))',
    message: 'feature names must be unique',
    check: (fs) => new Set(fs.map((f) => f.name)).size === fs.length,
  },
]).describe("The model's inputs, in the order the model expects them. Names must be unique.");

const AutoscalingSchema = withRules(
  z.object({
    minReplicas: z.int().min(1).max(1000).default(1).describe('Lower bound of the replica count. Default 1.'),
    maxReplicas: z.int().min(1).max(1000).describe('Upper bound of the replica count.'),
    targetCPUUtilizationPercentage: z
      .int()
      .min(1)
      .max(100)
      .default(80)
      .describe("Average CPU use, in percent of the pods' CPU requests, the autoscaler aims for. Default 80; needs serving.resources.requests.cpu."),
  }),
  [
    {
      rule: '!has(self.minReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'autoscaling.minReplicas must be less than or equal to autoscaling.maxReplicas',
      fieldPath: '.minReplicas',
      path: ['minReplicas'],
      check: (a) => a.minReplicas <= a.maxReplicas,
    },
  ],
).describe('Scale the serving pods with a HorizontalPodAutoscaler on CPU. Mutually exclusive with replicas.');

const BatchingSchema = z
  .object({
    maxBatchSize: z.int().min(1).max(4096).default(32).describe('Most rows run through the model in one call. Default 32.'),
    maxDelayMs: z
      .int()
      .min(0)
      .max(1000)
      .default(2)
      .describe('Milliseconds a request may wait for others to fill a batch; 0 disables batching across requests. Default 2.'),
  })
  .prefault({})
  .describe('Dynamic batching: concurrent requests are run through the model together.');

const SamplingSchema = z
  .object({
    rate: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('Fraction of inference rows (0 to 1) kept for drift checks; 0 disables capture. Default 1.'),
    bufferSize: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(10000)
      .describe('Most recent captured rows each serving pod keeps in memory (a ring buffer). Default 10000.'),
  })
  .prefault({})
  .describe('Capture of live inputs that DriftMonitors with current.source Serving compare with their reference.');

const PredictionLogSchema = withRules(
  z.object({
    uri: StorageUriSchema.describe(
      'Prefix the log is written under: s3://bucket/prefix (any S3-compatible store). Objects go to ' +
        '<prefix>/model=<name>/version=<version>/date=YYYY-MM-DD/hour=HH/ as gzip-compressed JSON Lines.',
    ),
    credentialsSecretRef: SecretReferenceSchema.optional().describe(
      "A Secret with the AWS SDK variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optionally AWS_REGION and AWS_ENDPOINT_URL) for the log's bucket. " +
        "Unset: the serving pod's own credentials, those of spec.artifact.credentialsSecretRef.",
    ),
    sampleRate: z
      .number()
      .gt(0)
      .max(1)
      .default(1)
      .describe('Fraction of inference requests logged, greater than 0 and at most 1. Default 1 (every request).'),
    flushIntervalSeconds: z
      .int()
      .min(1)
      .max(3600)
      .default(10)
      .describe('Most seconds a logged request waits in memory before it is written. Default 10.'),
    maxBatchRecords: z
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Most requests per object written; a full batch is written at once. Default 1000.'),
    maxBufferedRecords: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(10000)
      .describe(
        'Most requests each serving process holds in memory while the store is slow or unreachable; beyond it requests are not logged ' +
          '(counted as dropped), and inference goes on unslowed. Default 10000.',
      ),
    retentionDays: z
      .int()
      .min(1)
      .max(36500)
      .optional()
      .describe(
        'How long you mean to keep the log, in days: a hint for the lifecycle rule you set on the bucket. Fluxora deletes nothing.',
      ),
  }),
  [
    {
      // has(): a missing uri is reported as Required by the schema, not as a CEL evaluation error.
      rule: "!has(self.uri) || self.uri.startsWith('s3://')",
      message: 'predictionLog.uri must be an s3:// prefix (s3://bucket/prefix): the log is written to object storage',
      fieldPath: '.uri',
      path: ['uri'],
      check: (p) => p.uri.startsWith('s3://'),
    },
    {
      rule: '!has(self.maxBufferedRecords) || !has(self.maxBatchRecords) || self.maxBufferedRecords >= self.maxBatchRecords',
      message: 'predictionLog.maxBufferedRecords must be greater than or equal to predictionLog.maxBatchRecords',
      fieldPath: '.maxBufferedRecords',
      path: ['maxBufferedRecords'],
      check: (p) => p.maxBufferedRecords >= p.maxBatchRecords,
    },
  ],
).describe(
  'A durable log of inference requests (request id, inputs, outputs, version, time) written by every serving pod to object storage, ' +
    'for pandas, DuckDB or Spark. Unset: no log.',
);

const ServingSchema = withRules(
  z.object({
    replicas: z
      .int()
      .min(0)
      .max(1000)
      .optional()
      .describe(
        'Number of serving pods. Unset means 1, or the autoscaler decides when autoscaling is set. ' +
          'Mutually exclusive with autoscaling (deliberately without a schema default, so that setting autoscaling alone is valid).',
      ),
    autoscaling: AutoscalingSchema.optional(),
    resources: ResourceRequirementsSchema.optional().describe('CPU and memory of each serving pod, as in a Pod container (requests and limits).'),
    batching: BatchingSchema,
    sampling: SamplingSchema,
    predictionLog: PredictionLogSchema.optional(),
    image: ContainerImageSchema.optional().describe("Image of the serving pods. Unset uses the operator's own image, which runs `fluxora serve`."),
  }),
  [
    {
      rule: '!(has(self.replicas) && has(self.autoscaling))',
      message: 'replicas and autoscaling are mutually exclusive: remove replicas to let the autoscaler size the Deployment',
      fieldPath: '.replicas',
      reason: 'FieldValueForbidden',
      path: ['replicas'],
      check: (s) => !(s.replicas !== undefined && s.autoscaling !== undefined),
    },
  ],
)
  .prefault({})
  .describe('How the model is served: replica count or autoscaling, resources, batching, sampling and the prediction log.');

export const ModelSpecSchema = z
  .object({
    artifact: ArtifactSchema,
    features: FeaturesSchema,
    serving: ServingSchema,
    promotion: PromotionSpecSchema,
    pinnedVersion: z
      .string()
      .max(71)
      .regex(/^((v[0-9]{1,9})|(sha256:[a-f0-9]{64}))?$/)
      .optional()
      .describe(
        'Serve this version regardless of promotion: a name from status.versions (e.g. v1) or sha256:<64 hex digits> of its artifact. ' +
          'A digest means the same file on every cluster, so a pin committed to git selects the same model wherever it is applied. ' +
          'Empty or unset follows promotion.',
      ),
  })
  .describe('The model to serve and how to serve it.');
export type ModelSpec = z.output<typeof ModelSpecSchema>;
export type ModelSpecInput = z.input<typeof ModelSpecSchema>;

const ModelVersionSchema = z
  .object({
    name: z.string().min(1).max(32).describe('Version name: v1, v2, ...'),
    uri: StorageUriSchema.describe('Location of the version\'s ONNX file.'),
    sha256: Sha256Schema.optional(),
    source: z
      .string()
      .min(1)
      .max(300)
      .describe('Where the version came from: Spec (spec.artifact) or RetrainJob/<name>.'),
    metrics: MetricMapSchema.optional().describe('Metrics of the version, as its trainer reported them.'),
    dataset: z
      .object({
        uri: StorageUriSchema.describe('The data set the version was trained on.'),
        sha256: Sha256Schema.optional().describe('SHA-256 of that data set; absent when it could not be read to compute it (and spec.artifact.trainingData gave none).'),
        window: TimeWindowSchema.optional().describe('The logged traffic the data set came from, when its RetrainJob built it from the prediction log.'),
      })
      .optional()
      .describe(
        "What the version was trained on: for a RetrainJob's version the file its trainer read (dataset.uri, or the file built from the prediction log, " +
          "with the window), for the spec's artifact spec.artifact.trainingData. A DriftMonitor with reference.fromServingVersion compares live data with it. " +
          'The RetrainJob named in source has the row counts (status.dataset) and, when a DriftMonitor started it, the monitor (label fluxora.io/drift-monitor) and the check (annotation fluxora.io/drift-check-time).',
      ),
    createdAt: TimestampSchema.describe('When the operator recorded the version.'),
  })
  .describe('One version of the model.');
export type ModelVersion = z.output<typeof ModelVersionSchema>;

export const ModelStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    servingVersion: z.string().max(32).optional().describe('The version the Deployment serves (or rolls out to).'),
    versions: z
      .array(ModelVersionSchema)
      .max(MODEL_VERSIONS_MAX)
      .optional()
      .describe(`Known versions, oldest first; at most ${MODEL_VERSIONS_MAX}, the served and pinned ones are never dropped.`),
    endpoint: z.string().max(2048).optional().describe('In-cluster URL of the model for V2 inference requests.'),
    replicas: z.int().min(0).optional().describe('Serving pods that exist.'),
    readyReplicas: z.int().min(0).optional().describe('Serving pods that are ready (model loaded).'),
    promotion: PromotionStatusSchema.optional(),
    conditions: ConditionsSchema.optional(),
  })
  .describe('What the operator observed. Written by the operator only.');
export type ModelStatus = z.output<typeof ModelStatusSchema>;

export const ModelSchema = z.object({
  apiVersion: z.literal(ModelResource.apiVersion),
  kind: z.literal(ModelResource.kind),
  metadata: ObjectMetaSchema,
  spec: ModelSpecSchema,
  status: ModelStatusSchema.optional(),
});
export type Model = z.output<typeof ModelSchema>;
