/**
 * The model spec: one JSON or YAML document that says what to learn, from which data, how to train and how to
 * judge the result. Validation returns every problem at once, each with the path of the offending field, so a
 * user can fix a spec in one pass.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const TASKS = ['binary_classification', 'multiclass_classification', 'regression'] as const;
export const CLASSIFICATION_METRICS = [
  'accuracy',
  'balanced_accuracy',
  'precision_macro',
  'recall_macro',
  'f1_macro',
  'roc_auc',
  'log_loss',
] as const;
export const REGRESSION_METRICS = ['rmse', 'mae', 'r2'] as const;
/** Metrics where a smaller value is better. */
export const LOWER_IS_BETTER = new Set<string>(['log_loss', 'rmse', 'mae']);

const MODEL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const COLUMN_NAME = z.string().min(1, 'column names cannot be empty');

const sourceSchema = z
  .string()
  .min(1)
  .refine((s) => /^(s3:\/\/[^/]+\/.+|https?:\/\/.+|upload:[A-Za-z0-9-]+|dataset:[A-Za-z0-9-]+)$/.test(s), {
    message:
      'must be s3://bucket/key, an http(s):// URL, upload:<datasetId> or dataset:<datasetId> (a dataset already ingested)',
  });

const paramValue = z.union([z.number(), z.string(), z.boolean()]);
const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, "must be a duration such as '500ms', '30s', '10m', '2h' or '3d'");
const percent = z.number().gt(0).max(100);

export const ROLLOUT_STRATEGIES = ['shadow', 'canary', 'blue_green'] as const;

const approvalSchema = z
  .object({
    /** always ask a reviewer; never ask; or ask only when the candidate does not beat the champion by the margin */
    policy: z.enum(['always', 'never', 'unless_better']).default('always'),
    margin: z.number().min(0).default(0),
    requiredApprovals: z.number().int().min(1).max(10).default(1),
    timeout: duration.default('72h'),
    onTimeout: z.enum(['reject', 'escalate']).default('reject'),
  })
  .strict()
  .default({});

const rolloutSchema = z
  .object({
    /** stages in order; blue_green stands alone */
    strategy: z.array(z.enum(ROLLOUT_STRATEGIES)).min(1).default(['shadow', 'canary']),
    shadow: z
      .object({ share: percent.default(100), bakeTime: duration.default('10m'), minRequests: z.number().int().min(0).default(100) })
      .strict()
      .default({}),
    canary: z
      .object({
        steps: z.array(percent).min(1).default([5, 25, 50, 100]),
        bakeTime: duration.default('10m'),
        minRequests: z.number().int().min(0).default(100),
      })
      .strict()
      .default({})
      .refine((c) => c.steps.every((w, i) => i === 0 || w > c.steps[i - 1]) && c.steps[c.steps.length - 1] === 100, {
        message: 'canary steps must increase and end at 100',
      }),
    blueGreen: z.object({ keepWarm: duration.default('30m') }).strict().default({}),
    guardrails: z
      .object({
        maxErrorRate: z.number().min(0).max(1).default(0.01),
        /** candidate p99 latency at most this multiple of the champion's */
        maxP99LatencyRatio: z.number().min(1).default(2),
        /** Jensen-Shannon distance between candidate and champion prediction distributions */
        maxPredictionDivergence: z.number().min(0).max(1).default(0.2),
        /** shadow: share of mirrored requests where candidate and champion agree */
        minAgreement: z.number().min(0).max(1).default(0.8),
        /** with ground-truth feedback: minimum online value of the primary metric */
        minOnlineQuality: z.number().optional(),
      })
      .strict()
      .default({}),
    stickyKeyHeader: z.string().regex(/^[a-z0-9-]+$/, 'a lower-case HTTP header name').optional(),
  })
  .strict()
  .default({})
  .refine((r) => !r.strategy.includes('blue_green') || r.strategy.length === 1, {
    message: "blue_green switches all traffic at once and cannot be chained with shadow or canary",
    path: ['strategy'],
  });

export const DRIFT_METHODS = ['auto', 'ks', 'chisquare', 'chi2_contingency', 'z', 'wasserstein', 'jensenshannon', 'psi'] as const;

/**
 * Production monitoring and retraining (optional in a spec: `monitoringPolicy()` fills the defaults, so specs written
 * before it keep their hash). Drift follows Evidently's defaults unless a column says otherwise.
 */
export const monitoringSchema = z
  .object({
    /** one monitoring window: the prediction logs of this long are compared with the champion's training data */
    window: duration.default('1h'),
    /** a window with fewer logged rows is reported as insufficient_data, never as "no drift" */
    minSamples: z.number().int().min(1).default(100),
    /** the data set drifts when at least this share of the feature columns drift */
    driftShare: z.number().gt(0).max(1).default(0.5),
    /** per-column overrides of the automatic choice of test and threshold */
    columns: z
      .record(z.object({ method: z.enum(DRIFT_METHODS).default('auto'), threshold: z.number().positive().optional() }).strict())
      .default({}),
    /** with ground truth: retrain when the online primary metric falls this far below its evaluation-time value */
    maxQualityDrop: z.number().min(0).default(0.05),
    /** labelled predictions a window needs before its online quality is judged */
    minLabelled: z.number().int().min(1).default(50),
    /** which findings start a retraining */
    retrainOn: z
      .object({
        drift: z.boolean().default(true),
        predictionDrift: z.boolean().default(false),
        /** with feedback: the mix of true labels moved away from the training labels */
        labelDrift: z.boolean().default(true),
        qualityDrop: z.boolean().default(true),
        newData: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /**
     * What an automatic or manual retraining (one without a new source) trains on: the data of the last training
     * plus the labelled production traffic (feedback joined with the prediction log), or only that traffic — the
     * choice when the world moved, and the one whose fresh test split the champion never trained on.
     */
    retrainData: z.enum(['base_plus_feedback', 'feedback']).default('base_plus_feedback'),
    /** after a retraining starts, automatic triggers wait this long (manual ones do not) */
    cooldown: duration.default('6h'),
    /** retrain on a schedule too: a five-field cron expression, e.g. '0 3 * * 1' (Mondays 03:00 UTC) */
    schedule: z
      .string()
      .regex(/^(\S+\s+){4}\S+$/, "must be a five-field cron expression such as '0 3 * * 1'")
      .optional(),
    /** alerts are POSTed here, signed with HMAC-SHA256 of the body under the secret in this worker variable */
    webhook: z
      .object({ url: z.string().url('must be an http(s) URL'), secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must name an environment variable') })
      .strict()
      .optional(),
  })
  .strict();

export type MonitoringPolicy = z.infer<typeof monitoringSchema>;

export const modelSpecSchema = z
  .object({
    name: z.string().regex(MODEL_NAME, 'must be 1-63 characters of lowercase letters, digits and dashes, starting with a letter or digit'),
    description: z.string().max(2000).optional(),
    task: z.enum(TASKS),
    target: COLUMN_NAME,
    features: z
      .object({
        include: z.array(COLUMN_NAME).min(1).optional(),
        exclude: z.array(COLUMN_NAME).default([]),
      })
      .strict()
      .default({ exclude: [] }),
    data: z
      .object({
        source: sourceSchema.optional(),
        format: z.enum(['csv', 'jsonl', 'parquet']).optional(),
      })
      .strict()
      .default({}),
    trainer: z
      .object({
        name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a trainer name such as gbdt, logistic_regression, ridge or a registered external trainer'),
        params: z.record(paramValue).default({}),
        /** a small grid: each entry overrides `params`; candidates train in parallel, best on the validation split */
        grid: z.array(z.record(paramValue)).max(32).optional(),
      })
      .strict(),
    split: z
      .object({
        train: z.number().gt(0).lt(1).default(0.7),
        validation: z.number().gt(0).lt(1).default(0.15),
        test: z.number().gt(0).lt(1).default(0.15),
        seed: z.number().int().nonnegative().default(42),
        stratify: z.boolean().default(true),
      })
      .strict()
      .default({})
      .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, {
        message: 'train + validation + test must add up to 1',
      }),
    validation: z
      .object({
        minRows: z.number().int().positive().default(30),
        maxMissingRate: z.number().min(0).max(1).default(0.5),
        maxClasses: z.number().int().min(2).default(50),
        /** a column whose type changes against the previous snapshot blocks the run unless this is true */
        allowSchemaChange: z.boolean().default(false),
      })
      .strict()
      .default({}),
    evaluation: z
      .object({
        primaryMetric: z.enum([...CLASSIFICATION_METRICS, ...REGRESSION_METRICS]),
        minimum: z.number().optional(),
        mustBeatBaseline: z.boolean().default(true),
        /** the candidate must beat the current champion by at least this much on the primary metric */
        championMargin: z.number().min(0).default(0),
      })
      .strict(),
    approval: approvalSchema,
    rollout: rolloutSchema,
    monitoring: monitoringSchema.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const metric = spec.evaluation.primaryMetric;
    const isRegression = spec.task === 'regression';
    if (isRegression && !(REGRESSION_METRICS as readonly string[]).includes(metric)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['evaluation', 'primaryMetric'],
        message: `'${metric}' is a classification metric; a regression model needs one of ${REGRESSION_METRICS.join(', ')}`,
      });
    }
    if (!isRegression && !(CLASSIFICATION_METRICS as readonly string[]).includes(metric)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['evaluation', 'primaryMetric'],
        message: `'${metric}' is a regression metric; a classification model needs one of ${CLASSIFICATION_METRICS.join(', ')}`,
      });
    }
    if (spec.features.include?.includes(spec.target) || spec.features.exclude.includes(spec.target)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['features'],
        message: `the target column '${spec.target}' cannot be listed in features.include or features.exclude`,
      });
    }
    if (isRegression && spec.split.stratify) {
      // Stratifying a continuous target is meaningless; quietly turning it off would hide a mistake in the spec.
      spec.split.stratify = false;
    }
  });

export type ModelSpec = z.infer<typeof modelSpecSchema>;
export type ModelSpecInput = z.input<typeof modelSpecSchema>;

export interface SpecIssue {
  path: string;
  message: string;
}

export class SpecValidationError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super(`invalid model spec: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'SpecValidationError';
  }
}

/** Parses a spec given as an object, a JSON string or a YAML string. Throws SpecValidationError listing every issue. */
export function parseModelSpec(input: unknown): ModelSpec {
  let document = input;
  if (typeof input === 'string') {
    try {
      document = parseYaml(input); // YAML is a superset of JSON, so this reads both
    } catch (err) {
      throw new SpecValidationError([{ path: '', message: `not valid JSON or YAML: ${(err as Error).message}` }]);
    }
  }
  const result = modelSpecSchema.safeParse(document);
  if (!result.success) {
    throw new SpecValidationError(
      result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  return result.data;
}

/** Stable hash of a spec (keys sorted), recorded in lineage so a version says exactly which spec produced it. */
export function specHash(spec: ModelSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The metric is better when larger, except for losses and errors. */
export function isBetter(metric: string, candidate: number, reference: number, margin = 0): boolean {
  return LOWER_IS_BETTER.has(metric) ? candidate <= reference - margin : candidate >= reference + margin;
}

/** The spec's monitoring policy with every default filled in. */
export function monitoringPolicy(spec: Pick<ModelSpec, 'monitoring'>): MonitoringPolicy {
  return monitoringSchema.parse(spec.monitoring ?? {});
}
