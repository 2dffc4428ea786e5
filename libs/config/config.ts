/**
 * Every setting comes from an environment variable, validated at boot. A wrong value stops the process with a
 * message that names the variable and says what is expected, instead of failing later somewhere far away.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

// ---- serving (libs/serving, api/inference) ----
const share = z.coerce.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const servingEnv = {
  MLCYCLE_SERVING_ENABLED: bool.default('true'),
  MLCYCLE_SERVING_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, '1-100 letters, digits, dots, dashes or underscores')
    .optional(),
  MLCYCLE_SERVING_RECONCILE_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  MLCYCLE_SERVING_IDLE_UNLOAD_MS: z.coerce.number().int().min(0).default(60_000),
  MLCYCLE_SERVING_STATS_FLUSH_MS: z.coerce.number().int().min(100).max(300_000).default(2_000),
  MLCYCLE_SERVING_STATS_RETENTION_HOURS: z.coerce.number().int().min(1).default(168),
  /** default: the cores shared out among the API processes (MLCYCLE_API_PROCESSES), at least one each */
  MLCYCLE_INFERENCE_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  MLCYCLE_INFERENCE_BATCHING: bool.default('true'),
  MLCYCLE_INFERENCE_FAST_PATH: bool.default('true'),
  MLCYCLE_INFERENCE_THREAD_NICE: z.coerce.number().int().min(0).max(19).default(10),
  MLCYCLE_INFERENCE_INLINE_BUDGET_MS: z.coerce.number().min(0).max(100).default(2),
  MLCYCLE_INFERENCE_BUSY_POLL_US: z.coerce.number().int().min(0).max(10_000).default(200),
  MLCYCLE_INFERENCE_MAX_BATCH_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(512),
  MLCYCLE_INFERENCE_BATCH_WAIT_MS: z.coerce.number().min(0).max(1_000).default(0),
  MLCYCLE_INFERENCE_QUEUE_LIMIT: z.coerce.number().int().min(1).default(4_096),
  MLCYCLE_INFERENCE_MAX_ROWS: z.coerce.number().int().min(1).default(100_000),
  MLCYCLE_PREDICTION_LOG_SAMPLE: share.default(1),
  MLCYCLE_PREDICTION_LOG_BATCH: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  MLCYCLE_PREDICTION_LOG_FLUSH_MS: z.coerce.number().int().min(100).default(5_000),
  MLCYCLE_PREDICTION_LOG_QUEUE: z.coerce.number().int().min(1).default(20_000),
};

export interface ServingConfig {
  /** this API process serves models (reconcile loop, inference threads); false for a control-plane-only API */
  enabled: boolean;
  /** fixed replica ID (e.g. the pod name); default hostname-pid-random */
  replicaId?: string;
  reconcileIntervalMs: number;
  idleUnloadMs: number;
  statsFlushMs: number;
  statsRetentionHours: number;
  threads: number;
  batching: boolean;
  /** answer POST /v2/.../infer and /v1/.../predict from the HTTP server ahead of Express/Nest (api/inference/fast-path.ts) */
  fastPath: boolean;
  /** nice value of the inference threads (Linux), so the event loop goes first when cores are scarce */
  threadNice: number;
  /** live batches expected to take at most this long (ms) run on the event loop, not a thread; 0: always a thread */
  inlineBudgetMs: number;
  /** after an answer, poll for the next request this long (µs) when requests usually follow that soon; 0: never */
  busyPollUs: number;
  /** cores this API process may use: the machine's shared out among the API processes */
  coreShare: number;
  maxBatchRows: number;
  batchWaitMs: number;
  queueLimit: number;
  maxRowsPerRequest: number;
  predictionLog: { sampleRate: number; batchSize: number; flushIntervalMs: number; maxQueue: number };
}

function servingConfig(e: z.output<z.ZodObject<typeof servingEnv>>, apiProcesses: number): ServingConfig {
  return {
    enabled: e.MLCYCLE_SERVING_ENABLED,
    replicaId: e.MLCYCLE_SERVING_REPLICA_ID,
    reconcileIntervalMs: e.MLCYCLE_SERVING_RECONCILE_MS,
    idleUnloadMs: e.MLCYCLE_SERVING_IDLE_UNLOAD_MS,
    statsFlushMs: e.MLCYCLE_SERVING_STATS_FLUSH_MS,
    statsRetentionHours: e.MLCYCLE_SERVING_STATS_RETENTION_HOURS,
    threads: e.MLCYCLE_INFERENCE_THREADS ?? Math.max(1, Math.floor(os.availableParallelism() / apiProcesses)),
    batching: e.MLCYCLE_INFERENCE_BATCHING,
    fastPath: e.MLCYCLE_INFERENCE_FAST_PATH,
    threadNice: e.MLCYCLE_INFERENCE_THREAD_NICE,
    inlineBudgetMs: e.MLCYCLE_INFERENCE_INLINE_BUDGET_MS,
    busyPollUs: e.MLCYCLE_INFERENCE_BUSY_POLL_US,
    coreShare: os.availableParallelism() / apiProcesses,
    maxBatchRows: e.MLCYCLE_INFERENCE_MAX_BATCH_ROWS,
    batchWaitMs: e.MLCYCLE_INFERENCE_BATCH_WAIT_MS,
    queueLimit: e.MLCYCLE_INFERENCE_QUEUE_LIMIT,
    maxRowsPerRequest: e.MLCYCLE_INFERENCE_MAX_ROWS,
    predictionLog: {
      sampleRate: e.MLCYCLE_PREDICTION_LOG_SAMPLE,
      batchSize: e.MLCYCLE_PREDICTION_LOG_BATCH,
      flushIntervalMs: e.MLCYCLE_PREDICTION_LOG_FLUSH_MS,
      maxQueue: e.MLCYCLE_PREDICTION_LOG_QUEUE,
    },
  };
}
// ---- end serving ----

/**
 * API processes when MLCYCLE_API_PROCESSES is auto: one per core, as model servers run one worker per core, since one
 * process's event loop is what saturates first (bench/serving/RESULTS.md). At most 4: each process holds every served
 * model version and a registry connection, and beyond that a deployment adds replicas (hosts or pods) instead.
 */
export const MAX_AUTO_API_PROCESSES = 4;

export function autoApiProcesses(): number {
  return Math.min(MAX_AUTO_API_PROCESSES, Math.max(1, os.availableParallelism()));
}

const envSchema = z.object({
  MLCYCLE_DATA_DIR: z.string().min(1).default(path.resolve(process.cwd(), '.mlcycle')),
  MLCYCLE_API_PORT: port.default(3000),
  MLCYCLE_API_HOST: z.string().min(1).default('127.0.0.1'),
  MLCYCLE_API_PROCESSES: z
    .string()
    .trim()
    .default('auto')
    .refine((v) => v === 'auto' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64), 'must be auto or a whole number from 1 to 64')
    .transform((v) => (v === 'auto' ? autoApiProcesses() : Number(v))),
  MLCYCLE_TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port, e.g. 127.0.0.1:7233')
    .default('127.0.0.1:7233'),
  MLCYCLE_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  MLCYCLE_TEMPORAL_UI_URL: z.string().url('must be a URL, e.g. http://127.0.0.1:8233').default('http://127.0.0.1:8233'),
  MLCYCLE_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9-]*$/, 'lowercase letters, digits and dashes only')
    .default(''),
  MLCYCLE_S3_ENDPOINT: z.string().url('must be a URL, e.g. http://127.0.0.1:9000').default('http://127.0.0.1:9000'),
  MLCYCLE_S3_ACCESS_KEY: z.string().min(3).default('mlcycle'),
  MLCYCLE_S3_SECRET_KEY: z.string().min(8, 'must be at least 8 characters (MinIO requires it)').default('mlcycle-local-secret'),
  MLCYCLE_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, dashes)')
    .default('mlcycle'),
  MLCYCLE_S3_REGION: z.string().default('us-east-1'),
  MLCYCLE_S3_CONSOLE_URL: z.string().url().optional(),
  MLCYCLE_DB_TYPE: z.enum(['sqlite', 'postgres']).default('sqlite'),
  MLCYCLE_DB_PATH: z.string().min(1).optional(),
  MLCYCLE_DB_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  MLCYCLE_DB_LOGGING: bool.default('false'),
  MLCYCLE_WORK_DIR: z.string().min(1).optional(),
  MLCYCLE_HTTP_ALLOWLIST: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  MLCYCLE_UPLOAD_MAX_BYTES: z.coerce.number().int().positive().default(1024 * 1024 * 1024),
  MLCYCLE_EXTERNAL_TRAINERS: z.string().min(1).optional(),
  MLCYCLE_TRAINING_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  MLCYCLE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  // Empty counts as unset (compose files write `MLCYCLE_ADMIN_KEY=`); a set key must be long enough to resist guessing.
  MLCYCLE_ADMIN_KEY: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .min(24, 'must be at least 24 characters (e.g. `openssl rand -base64 32`)')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional(),
  ),
  ...servingEnv,
});

/** Variables whose values never appear in error messages. */
const SECRET_VARIABLES = new Set(['MLCYCLE_ADMIN_KEY', 'MLCYCLE_S3_SECRET_KEY']);

export interface AppConfig {
  dataDir: string;
  /** processes: API processes sharing the port (node:cluster), each a serving replica */
  api: { host: string; port: number; processes: number };
  temporal: { address: string; namespace: string; uiUrl: string; taskQueuePrefix: string };
  s3: { endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string; consoleUrl?: string };
  db: { type: 'sqlite'; path: string; logging: boolean } | { type: 'postgres'; url: string; logging: boolean };
  workDir: string;
  httpAllowlist: string[];
  uploadMaxBytes: number;
  externalTrainersFile?: string;
  trainingConcurrency: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  serving: ServingConfig;
  /** the bootstrap admin key (identity `bootstrap-admin`), when MLCYCLE_ADMIN_KEY is set */
  adminKey?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        if (SECRET_VARIABLES.has(name)) return `${name} (value hidden, ${String(env[name] ?? '').length} characters): ${issue.message}`;
        return `${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  if (e.MLCYCLE_DB_TYPE === 'postgres' && !e.MLCYCLE_DB_URL) {
    throw new ConfigError(['MLCYCLE_DB_URL: required when MLCYCLE_DB_TYPE=postgres (postgres://user:pass@host:5432/db)']);
  }
  const dataDir = path.resolve(e.MLCYCLE_DATA_DIR);
  return {
    dataDir,
    api: { host: e.MLCYCLE_API_HOST, port: e.MLCYCLE_API_PORT, processes: e.MLCYCLE_API_PROCESSES },
    temporal: {
      address: e.MLCYCLE_TEMPORAL_ADDRESS,
      namespace: e.MLCYCLE_TEMPORAL_NAMESPACE,
      uiUrl: e.MLCYCLE_TEMPORAL_UI_URL.replace(/\/$/, ''),
      taskQueuePrefix: e.MLCYCLE_TASK_QUEUE_PREFIX,
    },
    s3: {
      endpoint: e.MLCYCLE_S3_ENDPOINT,
      accessKey: e.MLCYCLE_S3_ACCESS_KEY,
      secretKey: e.MLCYCLE_S3_SECRET_KEY,
      bucket: e.MLCYCLE_S3_BUCKET,
      region: e.MLCYCLE_S3_REGION,
      consoleUrl: e.MLCYCLE_S3_CONSOLE_URL,
    },
    db:
      e.MLCYCLE_DB_TYPE === 'postgres'
        ? { type: 'postgres', url: e.MLCYCLE_DB_URL!, logging: e.MLCYCLE_DB_LOGGING }
        : { type: 'sqlite', path: e.MLCYCLE_DB_PATH ?? path.join(dataDir, 'registry.sqlite'), logging: e.MLCYCLE_DB_LOGGING },
    workDir: path.resolve(e.MLCYCLE_WORK_DIR ?? path.join(dataDir, 'work')),
    httpAllowlist: e.MLCYCLE_HTTP_ALLOWLIST,
    uploadMaxBytes: e.MLCYCLE_UPLOAD_MAX_BYTES,
    externalTrainersFile: e.MLCYCLE_EXTERNAL_TRAINERS,
    trainingConcurrency: e.MLCYCLE_TRAINING_CONCURRENCY,
    logLevel: e.MLCYCLE_LOG_LEVEL,
    serving: servingConfig(e, e.MLCYCLE_API_PROCESSES),
    adminKey: e.MLCYCLE_ADMIN_KEY,
  };
}

/** Task queue names, with an optional prefix so parallel test runs or tenants don't steal each other's tasks. */
export function taskQueue(config: AppConfig, queue: string): string {
  return config.temporal.taskQueuePrefix ? `${config.temporal.taskQueuePrefix}-${queue}` : queue;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
