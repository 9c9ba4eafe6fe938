// Building blocks shared by the three kinds: references, storage URIs,
// resource requirements, durations, cron schedules and metav1.Condition.
//
// Every string has a maxLength and every list a maxItems: the API server
// estimates the worst-case cost of each CEL rule from these bounds and
// refuses a CRD whose rules could be too expensive.
import { z } from 'zod';
import { CRON_PATTERN, RANGE_ORDER_RULE, rangesInOrder } from './cron.js';
import { DURATION_PATTERN } from './duration.js';
import { listMap, maxProperties, withRules } from './kube-meta.js';

export const API_GROUP = 'fluxora.io';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;

/** The shape every `<Kind>Resource` constant has (REST coordinates plus CRD names). */
export interface KindResource {
  apiVersion: typeof GROUP_VERSION;
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
}

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
/** DNS-1123 subdomain: what most object names must be. */
export const DNS_SUBDOMAIN_PATTERN = `^${DNS_LABEL}(\\.${DNS_LABEL})*$`;
/** DNS-1035 label: what a Service name must be (starts with a letter, at most 63 characters). */
export const DNS_1035_LABEL_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

export const ObjectNameSchema = z.string().min(1).max(253).regex(new RegExp(DNS_SUBDOMAIN_PATTERN));

/** A reference to an object of a known kind in the same namespace. */
export const LocalObjectReferenceSchema = z
  .object({ name: ObjectNameSchema.describe('Name of the referenced object, in the same namespace.') })
  .describe('A reference to an object in the same namespace.');
export type LocalObjectReference = z.output<typeof LocalObjectReferenceSchema>;

export const SecretReferenceSchema = z
  .object({ name: ObjectNameSchema.describe('Name of the Secret, in the same namespace.') })
  .describe(
    'A Secret in the same namespace whose keys become environment variables of the pods that read or write this URI. ' +
      'For s3:// use the AWS SDK variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optionally AWS_REGION and AWS_ENDPOINT_URL (MinIO and other S3-compatible stores).',
  );

const S3 = 's3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\\S*)?';
const HTTP = 'https?://[^\\s/?#]+(/\\S*)?';
const PVC = `pvc://${DNS_LABEL}(\\.${DNS_LABEL})*/\\S+`;
const FILE = 'file:///\\S+';
/** Anchored pattern for storage URIs (RE2 and ECMAScript compatible). */
export const STORAGE_URI_PATTERN = `^(${S3}|${HTTP}|${PVC}|${FILE})$`;

/**
 * One rule for the scheme, then one per scheme, so a refusal says what is
 * wrong with this URI (a bucket name too short, a relative file path) rather
 * than listing every form. A URI of one scheme fails that scheme's rule only.
 */
const storageUriRules = (
  [
    [
      '',
      '^(s3|https?|pvc|file)://',
      'must be a storage URI: s3://bucket/key, http(s)://host/path, pvc://claim/path or file:///absolute/path',
    ],
    [
      's3://',
      `^${S3}$`,
      'must be s3://bucket/key with a bucket name of 3 to 63 characters (lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit) and no spaces',
    ],
    ['https?://', `^${HTTP}$`, 'must be http(s)://host/path with a host and no spaces'],
    ['pvc://', `^${PVC}$`, 'must be pvc://claim/path: a PersistentVolumeClaim name (lowercase letters, digits, "-" and "."), a path after it, and no spaces'],
    ['file://', `^${FILE}$`, 'must be file:///absolute/path (three slashes) with no spaces'],
  ] as const
).map(([scheme, pattern, message]) => {
  const re = new RegExp(pattern);
  if (scheme === '') return { rule: `self.matches(r'${pattern}')`, message, check: (s: string) => re.test(s) };
  const guard = `^${scheme}`;
  const isScheme = new RegExp(guard);
  return { rule: `!self.matches(r'${guard}') || self.matches(r'${pattern}')`, message, check: (s: string) => !isScheme.test(s) || re.test(s) };
});

export const StorageUriSchema = withRules(z.string().max(2048), storageUriRules).describe(
  'Location of a file or prefix: s3://bucket/key (any S3-compatible store; the bucket name has 3 to 63 lowercase letters, digits, dots and hyphens), ' +
    'http(s)://host/path (read only), pvc://claim/path (a PersistentVolumeClaim in the same namespace, mounted by the operator) or file:///absolute/path (local runs and tests).',
);

/** A readable location plus the credentials to read it. */
export const DataSourceSchema = z.object({
  uri: StorageUriSchema,
  credentialsSecretRef: SecretReferenceSchema.optional(),
});

/**
 * Ground-truth labels that arrive after the predictions they judge: CSV or
 * JSON Lines files (optionally .gz) with a request id and the true value.
 * One schema for every consumer (a RetrainJob trained on the prediction log,
 * a DriftMonitor's performance check), so labels are described once.
 */
export const LabelsSourceSchema = withRules(
  z.object({
    uri: StorageUriSchema.describe(
      'Where the label files are: a prefix (s3://bucket/labels/, pvc://claim/labels/, file:///labels/) whose CSV or JSON Lines files ' +
        '(.csv, .jsonl, .ndjson, .json, optionally .gz) are all read, or one such file. Later files (by last-modified time) win for an id labelled twice.',
    ),
    credentialsSecretRef: SecretReferenceSchema.optional(),
    idColumn: z
      .string()
      .min(1)
      .max(128)
      .default('id')
      .describe(
        'Column holding the request id the prediction was logged under (the Open Inference Protocol id); row r of a request of several rows is "<id>/<r>". Default id.',
      ),
    labelColumn: z.string().min(1).max(128).default('label').describe('Column holding the true value (a number, or a class name). Default label.'),
  }),
  [
    {
      rule: "!self.uri.startsWith('http://') && !self.uri.startsWith('https://')",
      message: 'labels.uri must be listable: use s3://, pvc:// or file:// (http(s) locations cannot be listed)',
      fieldPath: '.uri',
      path: ['uri'],
      check: (l) => !/^https?:\/\//.test(l.uri),
    },
  ],
).describe('Ground-truth labels joined to logged predictions by request id.');
export type LabelsSource = z.output<typeof LabelsSourceSchema>;

export const Sha256Schema = z
  .string()
  .length(64)
  .regex(/^[a-fA-F0-9]{64}$/)
  .describe('Hex-encoded SHA-256 digest of the file (64 characters).');

export const ContainerImageSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^\S+$/)
  .describe('Container image reference, e.g. registry.example.com/team/trainer:1.2.3 or an image@sha256:... digest.');

export const DurationSchema = z
  .string()
  .max(32)
  .regex(new RegExp(DURATION_PATTERN))
  .describe('A duration: a sequence of numbers with units ms, s, m or h, e.g. 30s, 5m, 6h, 1h30m.');

const CRON_RE = new RegExp(CRON_PATTERN);
// One withRules call: a second one would replace the first one's CEL rules in the CRD.
export const CronScheduleSchema = withRules(
  z.string().min(1).max(256),
  [
    {
      rule: `self.matches(r'${CRON_PATTERN}')`,
      message:
        'must be a cron schedule with five fields in range (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or jan-dec, ' +
        'day-of-week 0-6 or sun-sat; steps of at least 1), e.g. "*/15 * * * *", or a macro such as @hourly',
      check: (s) => CRON_RE.test(s),
    },
    {
      rule: RANGE_ORDER_RULE,
      message: 'every range of the schedule must run forwards: in "a-b", a must not be after b (e.g. 2-5, mon-fri; not 5-2 or sat-sun)',
      check: rangesInOrder,
    },
  ],
).describe(
    'Cron schedule in the standard five-field format "minute hour day-of-month month day-of-week" (as in a CronJob), ' +
      'e.g. "*/15 * * * *", or a macro such as @hourly or @daily. Day of week is 0-6 (Sunday is 0) or sun-sat. Times are in the kube-controller-manager time zone.',
  );

/** A Kubernetes timestamp (RFC 3339), as the API server writes them. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/** A span of time [from, to), as a training data set's window. */
export const TimeWindowSchema = z
  .object({
    from: TimestampSchema.describe('Start of the window (inclusive).'),
    to: TimestampSchema.describe('End of the window (exclusive).'),
  })
  .describe('A span of time: from (inclusive) to (exclusive).');

const QUANTITY_PATTERN = /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
/**
 * A resource.Quantity: an integer or a string such as "500m", "2", "1Gi"
 * (never negative). Checked by a CEL rule with a message rather than a
 * `pattern`, whose refusal would quote the regular expression above.
 */
export const QuantitySchema = withRules(z.union([z.int().min(0), z.string().max(64)]), [
  {
    rule: `type(self) == int || self.matches(r'${QUANTITY_PATTERN.source}')`,
    message:
      'must be a quantity: a non-negative number with an optional unit and no spaces, e.g. 500m (millicores), 2 or 0.5 (cores), 512Mi or 1Gi (bytes)',
    check: (q) => typeof q === 'number' || QUANTITY_PATTERN.test(q),
  },
]).describe('A quantity such as 500m (CPU millicores), 2 (cores) or 512Mi / 1Gi (bytes).');

const ResourceName = z
  .string()
  .max(253)
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
const ResourceList = maxProperties(z.record(ResourceName, QuantitySchema), 16);

const QUANTITY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};
/** A resource.Quantity as a number (close enough to compare two), or undefined when it is not one. */
export function quantityValue(q: string | number): number | undefined {
  if (typeof q === 'number') return q;
  const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][+-]?[0-9]+)|([KMGTPE]i|[numkMGTPE])?)$/.exec(q);
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : 1);
  return n * (QUANTITY_SUFFIX[m[3] ?? ''] ?? 1);
}

export const ResourceRequirementsSchema = withRules(z
  .object({
    requests: ResourceList.optional().describe(
      'Resources the scheduler reserves for each container, by name: cpu (cores, e.g. 250m), memory (bytes, e.g. 256Mi), ephemeral-storage, or an extended resource.',
    ),
    limits: ResourceList.optional().describe(
      'Maximum resources each container may use, by name: cpu (throttled above it), memory (the container is OOM-killed above it), ephemeral-storage, or an extended resource.',
    ),
  }), [
  {
    // What the API server refuses in every pod ("must be less than or equal to cpu limit"), checked here at admission.
    rule:
      '!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || ' +
      '!isQuantity(string(self.requests[k])) || !isQuantity(string(self.limits[k])) || ' +
      'quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)',
    message: 'resources.requests must be less than or equal to resources.limits for every resource that has both (a pod whose request exceeds its limit is refused)',
    fieldPath: '.requests',
    path: ['requests'],
    check: (r) =>
      Object.entries(r.requests ?? {}).every(([k, v]) => {
        const limit = r.limits?.[k];
        if (limit === undefined) return true;
        const [a, b] = [quantityValue(v), quantityValue(limit)];
        return a === undefined || b === undefined || a <= b;
      }),
  },
])
  .describe('Compute resources of the container, as in a Pod: requests and limits keyed by resource name.');
export type ResourceRequirements = z.output<typeof ResourceRequirementsSchema>;

/** Named numbers such as {"auc": 0.91, "rmse": 3.2}. */
export const MetricMapSchema = maxProperties(
  z.record(z.string().min(1).max(63).regex(/^[A-Za-z][A-Za-z0-9_.-]*$/), z.number()),
  64,
);

const CONDITION_TYPE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;

/** metav1.Condition, with the same bounds and patterns as upstream. */
export const ConditionSchema = z
  .object({
    type: z.string().min(1).max(316).regex(CONDITION_TYPE).describe('Type of the condition in CamelCase, e.g. Ready.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the condition was set for; older than the current generation means the condition is stale.'),
    lastTransitionTime: TimestampSchema.describe('When the condition last changed status.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('Programmatic identifier, in CamelCase, of the reason for the last transition.'),
    message: z.string().max(32768).describe('Human-readable details of the last transition.'),
  })
  .describe('An observation of the object state, shaped like metav1.Condition.');
export type Condition = z.output<typeof ConditionSchema>;

/** Conditions keyed by type, so server-side apply merges them by type. */
export const ConditionsSchema = listMap(z.array(ConditionSchema).max(32), ['type']).describe(
  'Current state as conditions. Ready is set on every kind (kubectl wait --for=condition=Ready works); ' +
    'Reconciling and Stalled follow kstatus and are present only while True.',
);

export const ObservedGenerationSchema = z
  .int()
  .min(0)
  .describe('The .metadata.generation the operator last acted on; when it equals metadata.generation, status reflects the current spec.');

/** Owner references as the API server returns them (for typing objects read from the cluster). */
const OwnerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

/**
 * ObjectMeta as the operator reads it. Loose: the API server owns metadata
 * and may add fields, which must survive a parse.
 */
export const ObjectMetaSchema = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(OwnerReference).optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: z.array(z.unknown()).optional(),
});
export type ObjectMeta = z.output<typeof ObjectMetaSchema>;
