/**
 * Runs a registered external trainer as a child process (contract in README.md next to this file) and checks what
 * it produced before anything downstream trusts it: the ONNX file must load in onnxruntime, follow the graph
 * contract, and give sane predictions on the validation rows. The process runs in its own process group so abort
 * and timeout can kill it together with anything it started.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FeatureColumn, Prediction, Task, TypedTable } from '../data/types';
import { isClassification, mlcycleMetadataProps, OnnxContractError, readMlcycleMetadata } from '../onnx/contract';
import { setOnnxMetadata } from '../onnx/model';
import type { OnnxModelInfo } from '../onnx/runner';
import { contractProblems, inspectOnnx, runOnnxModel } from '../onnx/runner';
import type { TrainerParams } from '../trainers/types';

export type ExternalFailureReason =
  | 'spawn_failed'
  | 'exit_code'
  | 'timeout'
  | 'aborted'
  | 'no_model'
  | 'invalid_model'
  | 'contract_violation';

export class ExternalTrainerError extends Error {
  constructor(
    readonly reason: ExternalFailureReason,
    message: string,
    readonly stderrTail = '',
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'ExternalTrainerError';
  }
}

export interface ExternalTrainerSpec {
  task: Task;
  target: string;
  features: FeatureColumn[];
}

export interface ExternalHeartbeat {
  elapsedMs: number;
  /** from the last `MLCYCLE_PROGRESS <fraction> <message>` line the trainer printed, if any */
  fraction?: number;
  message?: string;
}

export interface RunExternalTrainerOptions {
  /** program and arguments, from the worker-side registry (never from the API) */
  command: string[];
  /** the process's working directory; model output goes to <workDir>/output */
  workDir: string;
  trainPath: string;
  validationPath: string;
  params: TrainerParams;
  spec: ExternalTrainerSpec;
  timeoutMs: number;
  onHeartbeat?: (details: ExternalHeartbeat) => void;
  heartbeatIntervalMs?: number;
  signal?: AbortSignal;
  /** recorded in the model's mlcycle.trainer metadata as `external:<name>` */
  trainerName?: string;
  /** extra environment for the process (the parent's environment is NOT inherited beyond a safe allowlist) */
  env?: Record<string, string>;
  /** time between SIGTERM and SIGKILL on abort/timeout */
  killGraceMs?: number;
}

export interface ExternalTrainerResult {
  /** the model, with mlcycle metadata (task, features, trainer, target, params) stamped on */
  onnx: Uint8Array;
  classes?: string[];
  /** metrics.json as written by the trainer, if any */
  metrics?: Record<string, unknown>;
  info: OnnxModelInfo;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
  warnings: string[];
}

const TAIL_BYTES = 16 * 1024;
/** Variables a trainer legitimately needs; everything else (credentials above all) stays in the worker. */
const INHERITED_ENV = /^(PATH|HOME|USER|LANG|LANGUAGE|TZ|TMPDIR|TEMP|TMP|LC_.*|PYTHON.*|VIRTUAL_ENV|CONDA_.*|PYENV_.*|OMP_NUM_THREADS|MKL_NUM_THREADS|OPENBLAS_NUM_THREADS|LD_LIBRARY_PATH|SYSTEMROOT)$/;
const PROGRESS_LINE = /^MLCYCLE_PROGRESS\s+([0-9.eE+-]+)\s*(.*)$/;

class Tail {
  private text = '';
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > 2 * TAIL_BYTES) this.text = this.text.slice(-TAIL_BYTES);
  }
  toString(): string {
    return this.text.slice(-TAIL_BYTES);
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ended: 'exit' | 'timeout' | 'aborted';
}

function runProcess(opts: RunExternalTrainerOptions, env: NodeJS.ProcessEnv, started: number): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = opts.command;
    const child = spawn(program, args, { cwd: opts.workDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = new Tail();
    const stderr = new Tail();
    let ended: ProcessOutcome['ended'] = 'exit';
    let progress: { fraction?: number; message?: string } = {};
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout.push(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = PROGRESS_LINE.exec(line.trim());
        if (m) progress = { fraction: Math.min(1, Math.max(0, Number(m[1]) || 0)), message: m[2] };
      }
    });
    child.stderr.on('data', (chunk: string) => stderr.push(chunk));
    const beat = () => opts.onHeartbeat?.({ elapsedMs: Date.now() - started, ...progress });
    beat();
    const heartbeat = setInterval(beat, opts.heartbeatIntervalMs ?? 5000);
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'aborted') => {
      if (ended !== 'exit' || child.pid === undefined) return;
      ended = why;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), opts.killGraceMs ?? 5000);
    };
    const timeout = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const onAbort = () => stop('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearInterval(heartbeat);
      clearTimeout(timeout);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      cleanup();
      if (killTimer) clearTimeout(killTimer);
      reject(new ExternalTrainerError('spawn_failed', `cannot start external trainer '${program}': ${err.message}; check the command in the trainer registry`));
    });
    child.on('close', (code, signal) => {
      cleanup();
      // The direct child is gone; make sure nothing it started outlives it after an abort or timeout.
      if (ended !== 'exit' && child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal, stdout: stdout.toString(), stderr: stderr.toString(), ended });
    });
  });
}

/** Reads up to `limit` rows of a contract CSV into a TypedTable holding just the features. */
async function readValidationSample(file: string, features: FeatureColumn[], limit: number): Promise<{ table: TypedTable; rows: number[] }> {
  const text = await fsp.readFile(file, 'utf8');
  const records = parseCsv(text, { columns: true, to: limit, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  const n = records.length;
  const numeric: Record<string, Float64Array> = {};
  const categorical: Record<string, (string | null)[]> = {};
  for (const f of features) {
    if (f.kind === 'numeric') {
      numeric[f.name] = Float64Array.from(records, (r) => {
        const cell = r[f.name];
        return cell === undefined || cell.trim() === '' ? NaN : Number(cell);
      });
    } else {
      categorical[f.name] = records.map((r) => (r[f.name] === undefined || r[f.name] === '' ? null : r[f.name]));
    }
  }
  return { table: { schema: { columns: [] }, rowCount: n, numeric, categorical }, rows: Array.from({ length: n }, (_, i) => i) };
}

function allMissingRow(features: FeatureColumn[]): TypedTable {
  const numeric: Record<string, Float64Array> = {};
  const categorical: Record<string, (string | null)[]> = {};
  for (const f of features) {
    if (f.kind === 'numeric') numeric[f.name] = Float64Array.of(NaN);
    else categorical[f.name] = [null];
  }
  return { schema: { columns: [] }, rowCount: 1, numeric, categorical };
}

/** Problems with a prediction's values (probabilities that are not distributions, labels off the class list...). */
function predictionProblems(p: Prediction, task: Task, what: string): string[] {
  const problems: string[] = [];
  if (!isClassification(task)) {
    const bad = Array.from(p.values ?? []).filter((v) => !Number.isFinite(v)).length;
    if (bad > 0) problems.push(`${what}: ${bad} predicted values are not finite`);
    return problems;
  }
  const classes = p.classes!;
  const C = classes.length;
  const n = p.labels!.length;
  for (let i = 0; i < n; i++) {
    const row = p.probabilities!.subarray(i * C, i * C + C);
    const sum = row.reduce((a, b) => a + b, 0);
    if (!(Math.abs(sum - 1) < 1e-3) || row.some((v) => !(v >= -1e-6 && v <= 1 + 1e-6))) {
      problems.push(`${what}: row ${i} probabilities [${Array.from(row, (v) => v.toFixed(4)).join(', ')}] are not a distribution`);
      break;
    }
    const k = classes.indexOf(p.labels![i]);
    if (k < 0) {
      problems.push(`${what}: row ${i} label '${p.labels![i]}' is not one of mlcycle.classes ${JSON.stringify(classes)}`);
      break;
    }
    const max = Math.max(...row);
    if (row[k] < max - 1e-5) {
      problems.push(
        `${what}: row ${i} label '${p.labels![i]}' is not the most probable class under mlcycle.classes order ${JSON.stringify(classes)}; ` +
          'the classes metadata must list labels in probabilities column order',
      );
      break;
    }
  }
  return problems;
}

/**
 * Runs the trainer, waits for it, and validates model.onnx. Throws ExternalTrainerError with `reason` and a
 * message that says what to fix (stderr tail included when the process failed).
 */
export async function runExternalTrainer(opts: RunExternalTrainerOptions): Promise<ExternalTrainerResult> {
  if (opts.command.length === 0) throw new ExternalTrainerError('spawn_failed', 'the external trainer has an empty command');
  if (opts.signal?.aborted) throw new ExternalTrainerError('aborted', 'external training was aborted before it started');
  const outputDir = path.join(opts.workDir, 'output');
  await fsp.rm(outputDir, { recursive: true, force: true });
  await fsp.mkdir(outputDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (INHERITED_ENV.test(k) && v !== undefined) env[k] = v;
  Object.assign(env, opts.env ?? {}, {
    MLCYCLE_TRAIN_PATH: path.resolve(opts.trainPath),
    MLCYCLE_VALIDATION_PATH: path.resolve(opts.validationPath),
    MLCYCLE_PARAMS: JSON.stringify(opts.params),
    MLCYCLE_SPEC: JSON.stringify({ task: opts.spec.task, target: opts.spec.target, features: opts.spec.features }),
    MLCYCLE_OUTPUT_DIR: path.resolve(outputDir),
  });

  const started = Date.now();
  const outcome = await runProcess(opts, env, started);
  const stderrTail = lastLines(outcome.stderr, 40);
  const withStderr = (msg: string) => (stderrTail ? `${msg}; stderr tail:\n${stderrTail}` : msg);
  if (outcome.ended === 'timeout') {
    throw new ExternalTrainerError('timeout', withStderr(`external trainer timed out after ${opts.timeoutMs} ms and was killed`), stderrTail);
  }
  if (outcome.ended === 'aborted') throw new ExternalTrainerError('aborted', 'external training was aborted; the process group was killed', stderrTail);
  if (outcome.code !== 0) {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
    throw new ExternalTrainerError('exit_code', withStderr(`external trainer ${how}`), stderrTail);
  }

  const modelPath = path.join(outputDir, 'model.onnx');
  if (!fs.existsSync(modelPath)) {
    throw new ExternalTrainerError('no_model', withStderr(`external trainer exited 0 but wrote no model.onnx to $MLCYCLE_OUTPUT_DIR (${outputDir})`), stderrTail);
  }
  let bytes: Uint8Array = new Uint8Array(await fsp.readFile(modelPath));
  const { task, features } = opts.spec;

  let info: OnnxModelInfo;
  let classes: string[] | undefined;
  try {
    info = await inspectOnnx(bytes);
    classes = readMlcycleMetadata(bytes).classes;
  } catch (err) {
    const reason = err instanceof OnnxContractError ? err.message : (err as Error).message;
    throw new ExternalTrainerError('invalid_model', `model.onnx is not a usable ONNX model: ${reason}`, stderrTail);
  }
  const problems = contractProblems(info, task, features, classes);
  if (isClassification(task) && !classes) {
    problems.push(`a classification model must set metadata_props 'mlcycle.classes' (JSON array of labels in probabilities column order)`);
  }
  if (problems.length > 0) {
    throw new ExternalTrainerError('contract_violation', `model.onnx breaks the mlcycle graph contract: ${problems.join('; ')}`, stderrTail, problems);
  }

  // Smoke-run on real validation rows and on a row where every feature is missing: the contract says the graph
  // handles missing values itself, and serving will send such rows.
  const runProblems: string[] = [];
  try {
    const sample = await readValidationSample(opts.validationPath, features, 256);
    if (sample.rows.length > 0) {
      runProblems.push(...predictionProblems(await runOnnxModel(bytes, sample.table, sample.rows, features, { classes }), task, 'validation rows'));
    }
    runProblems.push(...predictionProblems(await runOnnxModel(bytes, allMissingRow(features), [0], features, { classes }), task, 'a row with every feature missing'));
  } catch (err) {
    runProblems.push(`running the model failed: ${(err as Error).message.trim()}`);
  }
  if (runProblems.length > 0) {
    throw new ExternalTrainerError('contract_violation', `model.onnx loads but predicts wrongly: ${runProblems.join('; ')}`, stderrTail, runProblems);
  }

  const warnings: string[] = [];
  let metrics: Record<string, unknown> | undefined;
  const metricsPath = path.join(outputDir, 'metrics.json');
  if (fs.existsSync(metricsPath)) {
    try {
      const parsed = JSON.parse(await fsp.readFile(metricsPath, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) metrics = parsed as Record<string, unknown>;
      else warnings.push('metrics.json is not a JSON object; ignored');
    } catch (err) {
      warnings.push(`metrics.json is not valid JSON (${(err as Error).message}); ignored`);
    }
  }

  bytes = setOnnxMetadata(
    bytes,
    mlcycleMetadataProps({
      task,
      classes,
      features,
      trainer: `external:${opts.trainerName ?? path.basename(opts.command[opts.command.length - 1])}`,
      target: opts.spec.target,
      params: opts.params,
    }),
  );
  return {
    onnx: bytes,
    classes,
    metrics,
    info,
    durationMs: Date.now() - started,
    stdoutTail: lastLines(outcome.stdout, 40),
    stderrTail,
    warnings,
  };
}
