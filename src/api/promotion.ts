// spec.promotion and status.promotion of a Model: how a new version (a
// candidate) earns live traffic. Direct rolls it out at once; Shadow mirrors
// live requests to it and compares answers; Canary gives it a growing share
// of the Service's pods. The operator reads the figures from the serving
// pods, decides Promote, Reject or Extend against the thresholds here, and
// after promotion a guard window can roll back by itself.
import { z } from 'zod';
import { DurationSchema, TimestampSchema } from './common.js';
import { withRules } from './kube-meta.js';
import { parseDuration } from './duration.js';

export const PROMOTION_STRATEGIES = ['Direct', 'Shadow', 'Canary'] as const;
export type PromotionStrategy = (typeof PROMOTION_STRATEGIES)[number];

const CanaryStepSchema = z
  .object({
    weight: z.int().min(1).max(99).describe("Share of the Service's serving pods, in percent, that run the candidate during this step."),
    duration: DurationSchema.describe('How long the step lasts before its analysis decides, e.g. 5m.'),
  })
  .describe('One step of a canary.');

const CanarySchema = withRules(
  z.object({
    steps: z
      .array(CanaryStepSchema)
      .min(1)
      .max(10)
      .default([
        { weight: 10, duration: '5m' },
        { weight: 50, duration: '5m' },
      ])
      .describe(
        'Steps of traffic share, in order; after the last one passes the candidate gets all traffic. Without a service mesh the share is ' +
          'made by replica counts behind the one Service: the candidate gets ceil(weight × replicas / 100) pods beside the unchanged ' +
          'champion, so with few replicas the real share is larger than asked (status.promotion.candidate.trafficPercent says what it is). ' +
          'Default 10% for 5m, then 50% for 5m.',
      ),
  }),
  [
    {
      rule: 'self.steps.all(s, self.steps.exists_one(t, t.weight == s.weight)) && (size(self.steps) < 2 || self.steps[0].weight < self.steps[size(self.steps) - 1].weight)',
      message: 'canary.steps must not repeat a weight and must end with a larger weight than they start with',
      fieldPath: '.steps',
      path: ['steps'],
      check: (c) => new Set(c.steps.map((s) => s.weight)).size === c.steps.length && (c.steps.length < 2 || c.steps[0]!.weight < c.steps.at(-1)!.weight),
    },
  ],
).describe('Canary: the candidate serves a growing share of live traffic.');

const ShadowSchema = z
  .object({
    mirrorPercent: z
      .int()
      .min(1)
      .max(100)
      .default(100)
      .describe(
        'Share of live inference requests, in percent, the serving pods also send to the candidate. The client always gets the ' +
          "champion's answer, never waiting for the candidate's. Default 100.",
      ),
  })
  .describe('Shadow: the candidate answers copies of live requests beside the champion; its answers are compared, never returned.');

export const ANALYSIS_DEFAULTS = {
  interval: '30s',
  minSamples: 200,
  compare: 'Labels',
  minAgreement: 0.95,
  maxErrorRateIncrease: 0.01,
  maxLatencyRatio: 1.5,
  minLatencyIncrease: '5ms',
  maxOutputDrift: 0.2,
  deadline: '1h',
  onDeadline: 'Reject',
} as const;

const AnalysisSchema = z
  .object({
    interval: DurationSchema.default(ANALYSIS_DEFAULTS.interval).describe('How often the operator reads the figures from the serving pods and decides. Default 30s.'),
    minSamples: z
      .int()
      .min(1)
      .max(100_000_000)
      .default(ANALYSIS_DEFAULTS.minSamples)
      .describe('Requests the candidate must have answered (mirrored ones in Shadow, its own in Canary) before any verdict; fewer extends the analysis. Default 200.'),
    compare: z
      .enum(['Labels', 'Scores'])
      .default(ANALYSIS_DEFAULTS.compare)
      .describe(
        "How Shadow compares the two answers to one request. Labels: the class of each row (a single probability rounded at 0.5, or the " +
          'index of the largest of several values) must agree (minAgreement). Scores: the mean absolute difference of the values must stay ' +
          'below maxMeanAbsoluteDifference (regression). Default Labels.',
      ),
    minAgreement: z
      .number()
      .min(0)
      .max(1)
      .default(ANALYSIS_DEFAULTS.minAgreement)
      .describe('Shadow with compare Labels: the least share of rows whose class the candidate and the champion agree on. Default 0.95.'),
    maxMeanAbsoluteDifference: z
      .number()
      .min(0)
      .optional()
      .describe('Shadow with compare Scores: the largest mean absolute difference between the two versions\' output values. Required for Scores.'),
    maxErrorRateIncrease: z
      .number()
      .min(0)
      .max(1)
      .default(ANALYSIS_DEFAULTS.maxErrorRateIncrease)
      .describe("The candidate's share of failed requests (5xx, timeouts) may exceed the champion's by at most this much (0.01 = one point). Default 0.01."),
    maxLatencyRatio: z
      .number()
      .min(1)
      .max(1000)
      .default(ANALYSIS_DEFAULTS.maxLatencyRatio)
      .describe("The candidate's p99 latency may be at most this multiple of the champion's on the same kind of traffic. Default 1.5."),
    minLatencyIncrease: DurationSchema.default(ANALYSIS_DEFAULTS.minLatencyIncrease).describe(
      "maxLatencyRatio fails a candidate only when its p99 is also at least this much above the champion's: between answers of a few " +
        'milliseconds the ratio is mostly noise (a pause of the process, a new pod warming up). 0s judges on the ratio alone. Default 5ms.',
    ),
    maxOutputDrift: z
      .number()
      .min(0)
      .max(1)
      .default(ANALYSIS_DEFAULTS.maxOutputDrift)
      .describe(
        "The largest Kolmogorov-Smirnov statistic between the two versions' output distributions (each row's value, or its class for " +
          'several values). Default 0.2.',
      ),
    deadline: DurationSchema.default(ANALYSIS_DEFAULTS.deadline).describe(
      'How long the whole analysis may take (all canary steps included) before onDeadline decides. Default 1h.',
    ),
    onDeadline: z
      .enum(['Reject', 'Promote'])
      .default(ANALYSIS_DEFAULTS.onDeadline)
      .describe('What a deadline reached without a verdict (too little traffic) means: Reject (keep the champion) or Promote. Default Reject.'),
  })
  .prefault({})
  .describe('The thresholds a candidate must meet on live traffic, and how long it may take.');

const GuardSchema = z
  .object({
    window: DurationSchema.default('10m').describe(
      'How long after promotion the new version is watched. Default 10m.',
    ),
  })
  .describe(
    "After a Shadow or Canary promotion, the new version's live error rate, p99 latency and output distribution are compared with the " +
      "previous version's figures from the analysis, against the analysis thresholds; a regression rolls back to the previous version at " +
      'once, and that version is never promoted automatically again. Unset: no guard.',
  );

export const PromotionSpecSchema = withRules(
  z.object({
    policy: z
      .enum(['Automatic', 'Manual'])
      .default('Automatic')
      .describe(
        'Automatic: a new version (a changed spec.artifact, an accepted retrain) becomes the candidate and is promoted by the strategy. ' +
          'Manual: retrained versions are analysed the same way, the verdict is shown, but only spec.pinnedVersion serves them. Default Automatic.',
      ),
    strategy: z
      .enum(PROMOTION_STRATEGIES)
      .default('Direct')
      .describe('Direct: roll out a new version at once. Shadow: mirror live requests to it and compare. Canary: give it a growing share of the pods. Default Direct.'),
    shadow: ShadowSchema.optional(),
    canary: CanarySchema.optional(),
    analysis: AnalysisSchema,
    guard: GuardSchema.optional(),
  }),
  [
    {
      rule: "!has(self.guard) || (has(self.strategy) && self.strategy != 'Direct')",
      message: 'promotion.guard needs strategy Shadow or Canary: the guard compares with the figures their analysis measured',
      fieldPath: '.guard',
      path: ['guard'],
      check: (p) => !p.guard || p.strategy !== 'Direct',
    },
    {
      rule: "!has(self.analysis) || !has(self.analysis.compare) || self.analysis.compare != 'Scores' || has(self.analysis.maxMeanAbsoluteDifference)",
      message: 'promotion.analysis.maxMeanAbsoluteDifference is required when analysis.compare is Scores',
      fieldPath: '.analysis.maxMeanAbsoluteDifference',
      path: ['analysis', 'maxMeanAbsoluteDifference'],
      check: (p) => p.analysis.compare !== 'Scores' || p.analysis.maxMeanAbsoluteDifference !== undefined,
    },
  ],
)
  .prefault({})
  .describe('Which version is served, and how a new version earns live traffic.');
export type PromotionSpec = z.output<typeof PromotionSpecSchema>;
export type AnalysisSpec = PromotionSpec['analysis'];
export type PromotionSpecInput = z.input<typeof PromotionSpecSchema>;

/** Milliseconds of a duration field the schema has already validated. */
export const durationMs = (d: string): number => parseDuration(d);

export const CANDIDATE_PHASES = ['Pending', 'Shadowing', 'Canary', 'Promoted', 'Rejected', 'RolledBack'] as const;
export type CandidatePhase = (typeof CANDIDATE_PHASES)[number];

const FiguresSchema = z
  .object({
    samples: z.int().min(0).describe('Requests the candidate answered in this analysis (mirrored ones in Shadow).'),
    championRequests: z.int().min(0).optional().describe('Requests the champion answered in this analysis.'),
    agreement: z.number().min(0).max(1).optional().describe('Shadow: share of rows whose class both versions agree on.'),
    meanAbsoluteDifference: z.number().min(0).optional().describe("Shadow: mean absolute difference of the two versions' output values."),
    championErrorRate: z.number().min(0).max(1).optional().describe("Share of the champion's requests that failed (5xx); in the guard, the previous version's."),
    candidateErrorRate: z.number().min(0).max(1).optional().describe("Share of the candidate's requests that failed (5xx, and in Shadow timeouts and unreachable); in the guard, the new version's."),
    championP99Ms: z.number().min(0).optional().describe("The champion's p99 latency in milliseconds, measured by its server."),
    candidateP99Ms: z.number().min(0).optional().describe("The candidate's p99 latency in milliseconds, measured by its server."),
    latencyRatio: z.number().min(0).optional().describe("Candidate's p99 over the champion's."),
    outputDrift: z.number().min(0).max(1).optional().describe("Kolmogorov-Smirnov statistic between the two versions' outputs."),
    championOutputQuantiles: z
      .array(z.number())
      .max(21)
      .optional()
      .describe("The champion's output distribution (the 0th, 5th, ..., 100th percentiles): what the guard compares the new version with."),
    pods: z.int().min(0).optional().describe('Serving pods that reported figures.'),
  })
  .describe('What the operator measured on live traffic.');
export type PromotionFigures = z.output<typeof FiguresSchema>;

const CandidateStatusSchema = z
  .object({
    version: z.string().min(1).max(32).describe('The version under analysis.'),
    champion: z.string().min(1).max(32).describe('The version serving while it is analysed.'),
    strategy: z.enum(PROMOTION_STRATEGIES).describe('The strategy the candidate was started under.'),
    phase: z
      .enum(CANDIDATE_PHASES)
      .describe('Shadowing, Canary (see step), Promoted, Rejected, RolledBack, or Pending: passed, waiting for a person to pin it (policy Manual).'),
    analysis: z.string().max(128).describe('Id of the analysis the serving pods count figures under.'),
    step: z.int().min(0).optional().describe('Canary: index of the current step (0-based).'),
    trafficPercent: z.int().min(0).max(100).optional().describe("Canary: the candidate's real share of the serving pods."),
    startedAt: TimestampSchema.describe('When the candidate was started; the analysis deadline counts from here.'),
    stepStartedAt: TimestampSchema.optional().describe('Canary: when the current step started.'),
    lastAnalysisTime: TimestampSchema.optional().describe('When the figures were last read from the pods.'),
    verdict: z.enum(['Promote', 'Reject', 'Extend']).optional().describe('The last decision.'),
    message: z.string().max(2048).optional().describe('Why, with the figure that decided.'),
    decidedAt: TimestampSchema.optional().describe('When the analysis decided (Promote or Reject).'),
    figures: FiguresSchema.optional(),
  })
  .describe('The newest candidate and where its promotion stands.');

const GuardStatusSchema = z
  .object({
    version: z.string().min(1).max(32).describe('The version promoted and watched.'),
    previous: z.string().min(1).max(32).describe('The version it replaced, which a rollback returns to.'),
    analysis: z.string().max(128).describe('Id of the analysis the serving pods count the guard figures under.'),
    until: TimestampSchema.describe('When the guard window ends.'),
    lastAnalysisTime: TimestampSchema.optional().describe('When the figures were last read from the pods.'),
    baseline: FiguresSchema.describe("The previous version's figures from the analysis."),
    figures: FiguresSchema.optional(),
    verdict: z.enum(['Watching', 'Passed', 'RolledBack']).describe('Watching during the window, then Passed, or RolledBack on a regression.'),
    message: z.string().max(2048).optional().describe('Why, with the figure that decided.'),
  })
  .describe('The guard window after the last promotion.');

export const PromotionStatusSchema = z
  .object({
    promotedVersion: z.string().max(32).optional().describe('The version promotion chose (what is served unless a version is pinned).'),
    specVersion: z.string().max(32).optional().describe('The version spec.artifact names; when it changes the operator acts on it.'),
    candidate: CandidateStatusSchema.optional(),
    guard: GuardStatusSchema.optional(),
    blockedVersions: z
      .array(
        z.object({
          version: z.string().min(1).max(32).describe('The version held back.'),
          reason: z.enum(['Rejected', 'RolledBack', 'Reverted']).describe('Rejected by analysis, RolledBack by the guard, or Reverted: it came after a version spec.artifact was set back to.'),
          message: z.string().max(2048).describe('Why, as it was said then.'),
          at: TimestampSchema.describe('When.'),
        }).describe('A version promotion will not choose by itself.'),
      )
      .max(20)
      .optional()
      .describe('Versions the analysis rejected, the guard rolled back, or that came after a version spec.artifact was set back to: never promoted automatically again (a pin or a revert of spec.artifact still serves them).'),
  })
  .describe('Where promotion stands.');
export type PromotionStatus = z.output<typeof PromotionStatusSchema>;
