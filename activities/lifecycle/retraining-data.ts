/**
 * The retraining set of a lifecycle retraining: the original data plus the production rows that have since been
 * labelled. It reads the base source the way the training pipeline's ingest resolves it (a registry snapshot, an
 * object in MinIO, or — for an http(s) source — the snapshot the pipeline made of it), joins this model's logged
 * single-row predictions to their feedback by request ID, projects them onto the base data's columns (the target
 * column holds the label) and writes one CSV to `retraining/<model>/<runId>.csv`. The same run ID always writes
 * the same key, and the same data gives the same bytes (base rows in file order, then labelled rows by time), so a
 * retried activity rewrites one object. The I/O is in the activity; everything it decides is a plain function,
 * tested in retraining-data.spec.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../../libs/artifacts';
import { FAILURE_TYPES } from '../../libs/contracts';
import { DataReadError, formatFromName, readDatasetFile } from '../../libs/ml/data';
import type { DatasetFormat, ReadTable } from '../../libs/ml/data';
import type { RawValue } from '../../libs/ml/data/types';
import type { ModelSpec } from '../../libs/ml/spec';
import type { DatasetSnapshot, Feedback, RegistryService } from '../../libs/registry';
import { parseLogLines } from '../monitoring/window';
import type { LoggedRequest } from '../monitoring/window';

export interface RetrainingDataDeps {
  registry: RegistryService;
  store: ArtifactStore;
  /** scratch space: the base data is downloaded and the CSV written here before its upload */
  workDir: string;
}

export interface AssembleRetrainingDataInput {
  modelId: string;
  modelName: string;
  /** what the model was trained on: `s3://bucket/key`, `dataset:<id>` or an http(s) URL the pipeline ingested */
  baseSource: string;
  runId: string;
  /** ISO time: only predictions made at or after it count (default: every logged prediction) */
  since?: string;
  /**
   * false: only the labelled production rows (monitoring.retrainData 'feedback'), with the base data's columns that
   * the logs carry plus the target; the base data is still read for its columns. Default true.
   */
  includeBase?: boolean;
}

export interface RetrainingData {
  /** the CSV's `s3://` address, or `baseSource` itself when no production row is labelled */
  source: string;
  baseRows: number;
  feedbackRows: number;
  /** sha256 of the bytes `source` holds */
  sha256: string;
}

/** Where a run's retraining set lives: one key per run, so a retry rewrites it instead of adding another. */
export function retrainingDataKey(modelName: string, runId: string): string {
  return `retraining/${modelName}/${runId}.csv`;
}

// ---------------------------------------------------------------- CSV

/**
 * Float32 inputs are logged as the double nearest the float (12.8 → 12.800000190734863): the shortest decimal that
 * rounds to the same float is what the caller sent, as far as the model could ever tell. Other numbers unchanged.
 */
export function shortestFloat32(v: number): number {
  if (!Number.isFinite(v) || Math.fround(v) !== v || Number.isInteger(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(v.toPrecision(p));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
}

/** One RFC 4180 field: numbers as numbers, strings quoted when they hold a comma, quote or line break, missing empty. */
export function csvField(value: RawValue | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === '') return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV record, CRLF-free: a line feed ends it (csv-parse, pandas and the pipeline's reader all take either). */
export function csvRecord(values: readonly (RawValue | undefined)[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

// ---------------------------------------------------------------- labelled production rows

/** A logged prediction that can be labelled by its request ID: one row, answered 200, inputs logged. */
export interface LoggedRow {
  requestId: string;
  ts: string;
  /** column → the row's value */
  inputs: Record<string, RawValue>;
}

export interface LabelledRow extends LoggedRow {
  target: string | number;
}

/**
 * The records that can carry a label: status 200, a single row (feedback is one answer per request ID, so a
 * multi-row request cannot be labelled; as in monitoring's online quality), inputs logged, and of this model (a
 * model re-created under the same name logs under the same prefix, with another id).
 */
export function labellableRows(records: readonly LoggedRequest[], modelId?: string): LoggedRow[] {
  const out: LoggedRow[] = [];
  for (const r of records) {
    const recordModelId = (r as LoggedRequest & { modelId?: string }).modelId;
    if (r.status !== 200 || !r.inputs || (modelId && recordModelId !== undefined && recordModelId !== modelId)) continue;
    const columns = Object.entries(r.inputs);
    const rows = r.rows ?? columns[0]?.[1]?.length ?? 0;
    if (rows !== 1 || columns.some(([, values]) => !Array.isArray(values) || values.length !== 1)) continue;
    const inputs: Record<string, RawValue> = {};
    for (const [name, [v]] of columns) inputs[name] = loggedValue(v);
    out.push({ requestId: r.requestId, ts: r.ts, inputs });
  }
  return out;
}

function loggedValue(v: unknown): RawValue {
  if (typeof v === 'number') return Number.isFinite(v) ? shortestFloat32(v) : null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'boolean') return v;
  return null;
}

/**
 * Adds rows to `into`, one per request ID. A caller may reuse a request ID (X-Request-Id); its one label then
 * belongs to the earliest prediction, and a tie in time keeps the row seen first (log objects are read in key order).
 */
export function keepEarliest(into: Map<string, LoggedRow>, rows: readonly LoggedRow[]): void {
  for (const row of rows) {
    const seen = into.get(row.requestId);
    if (!seen || row.ts < seen.ts) into.set(row.requestId, row);
  }
}

/** The ground truth as the target column holds it: the label (classification) or the value (regression); null if none. */
export function targetOf(feedback: Pick<Feedback, 'label' | 'value'>, task: ModelSpec['task']): string | number | null {
  if (task === 'regression') {
    if (feedback.value !== null && Number.isFinite(feedback.value)) return feedback.value;
    const parsed = feedback.label !== null && feedback.label.trim() !== '' ? Number(feedback.label) : NaN;
    return Number.isFinite(parsed) ? parsed : null;
  }
  if (feedback.label !== null && feedback.label !== '') return feedback.label;
  return feedback.value !== null && Number.isFinite(feedback.value) ? String(feedback.value) : null;
}

/** Labelled rows in a stable order: by prediction time, then request ID. */
export function orderRows(rows: Iterable<LabelledRow>): LabelledRow[] {
  return [...rows].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
}

/** A labelled row on the base data's columns: the target column holds the label; columns the log lacks stay empty. */
export function projectRow(row: LabelledRow, columns: readonly string[], target: string): RawValue[] {
  return columns.map((c) => (c === target ? row.target : Object.hasOwn(row.inputs, c) ? row.inputs[c] : null));
}

// ---------------------------------------------------------------- the activity

/** Log objects per feedback lookup: a few queries per activity, never one per object. */
const FEEDBACK_BATCH = 2_000;

const FORMAT_EXT: Record<string, string> = { csv: '.csv', jsonl: '.jsonl', parquet: '.parquet' };

function heartbeat(details: unknown): void {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return; // called outside an activity (tests, scripts)
  }
  ctx.heartbeat(details);
}

function notFound(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FAILURE_TYPES.sourceNotFound, message, nonRetryable: true });
}

function isMissingObject(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket' || (err as Error)?.name === 'ArtifactNotFoundError';
}

export class RetrainingDataActivities {
  constructor(private readonly deps: RetrainingDataDeps) {}

  async assembleRetrainingData(input: AssembleRetrainingDataInput): Promise<RetrainingData> {
    const { registry, store } = this.deps;
    const model = await registry.findModelById(input.modelId);
    if (!model) throw ApplicationFailure.create({ type: FAILURE_TYPES.notFound, message: `model ${input.modelId} does not exist`, nonRetryable: true });
    const since = input.since === undefined ? null : new Date(input.since);
    if (since && !Number.isFinite(since.getTime())) {
      throw ApplicationFailure.create({ type: FAILURE_TYPES.specInvalid, message: `since '${input.since}' is not an ISO time`, nonRetryable: true });
    }
    const target = model.spec.target;

    const scratch = path.join(this.deps.workDir, 'retraining', randomUUID());
    await fsp.mkdir(scratch, { recursive: true });
    try {
      const base = await this.readBase(input.modelId, input.baseSource, scratch);
      if (!base.table.columns.includes(target)) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.dataValidationFailed,
          message: `the base data ${input.baseSource} has no target column '${target}' (columns: ${base.table.columns.join(', ')})`,
          nonRetryable: true,
        });
      }
      heartbeat({ stage: 'base read', rows: base.table.rowCount });

      const labelled = await this.labelledRows(input.modelId, input.modelName, model.spec.task, since);
      if (!labelled.length) return { source: input.baseSource, baseRows: base.table.rowCount, feedbackRows: 0, sha256: base.sha256 };

      const file = path.join(scratch, 'retraining.csv');
      const sha256 = await writeRetrainingCsv(file, base.table, labelled, target, input.includeBase ?? true);
      const key = retrainingDataKey(input.modelName, input.runId);
      // One PUT from a complete local file: readers see the old object or the new one, never a part. The sha256
      // metadata is what ArtifactStore.getBytes/getToFile verify against.
      await store.client.fPutObject(store.bucket, key, file, { 'Content-Type': 'text/csv', sha256 });
      return { source: `s3://${store.bucket}/${key}`, baseRows: base.table.rowCount, feedbackRows: labelled.length, sha256 };
    } finally {
      await fsp.rm(scratch, { recursive: true, force: true });
    }
  }

  /** The base data as training ingested it, read into a raw table, with the sha256 of its bytes. */
  private async readBase(modelId: string, source: string, scratch: string): Promise<{ table: ReadTable; sha256: string }> {
    const { registry, store } = this.deps;
    let snapshot: DatasetSnapshot | null = null;
    let file: string;
    let format: DatasetFormat;
    let sha256: string;
    if (source.startsWith('dataset:') || source.startsWith('upload:')) {
      const id = source.slice(source.indexOf(':') + 1);
      snapshot = await registry.findDataset(id);
      if (!snapshot || snapshot.modelId !== modelId) throw notFound(`dataset ${id} does not exist for this model`);
    } else if (source.startsWith('s3://')) {
      const rest = source.slice('s3://'.length);
      const bucket = rest.slice(0, rest.indexOf('/'));
      const key = rest.slice(rest.indexOf('/') + 1);
      format = formatFromName(source);
      file = path.join(scratch, `base${FORMAT_EXT[format]}`);
      try {
        if (bucket === store.bucket) sha256 = (await store.getToFile(key, file)).sha256;
        else {
          await pipeline(await store.client.getObject(bucket, key), fs.createWriteStream(file));
          sha256 = await sha256OfFile(file);
        }
      } catch (err) {
        if (!isMissingObject(err)) throw err;
        // The object is gone, but training copied it: its snapshot holds the same bytes.
        snapshot = await this.snapshotOf(modelId, source);
        if (!snapshot) throw notFound(`${source} does not exist, and no data set of this model was ingested from it`);
      }
    } else if (/^https?:\/\//.test(source)) {
      // Not fetched again: the worker's allowlist is not ours to check, and the data the model learned from is the
      // snapshot the pipeline took, whatever the URL serves today.
      snapshot = await this.snapshotOf(modelId, source);
      if (!snapshot) throw notFound(`no data set of this model was ingested from ${source}; train on it first or upload it`);
    } else {
      throw notFound(`unsupported source '${source}': use s3://bucket/key, an allowed http(s) URL, or dataset:<id>`);
    }
    if (snapshot) {
      format = snapshot.format as DatasetFormat;
      file = path.join(scratch, `base${FORMAT_EXT[format] ?? ''}`);
      sha256 = (await store.getToFile(snapshot.objectKey, file, snapshot.sha256)).sha256;
    }
    try {
      return { table: await readDatasetFile(file!, format!), sha256: sha256! };
    } catch (err) {
      if (err instanceof DataReadError) throw ApplicationFailure.create({ type: FAILURE_TYPES.dataUnreadable, message: `${source}: ${err.message}`, nonRetryable: true });
      throw err;
    }
  }

  private async snapshotOf(modelId: string, source: string): Promise<DatasetSnapshot | null> {
    return (await this.deps.registry.listDatasets(modelId)).find((d) => d.source === source) ?? null;
  }

  /** Every labelled single-row prediction of the model (at or after `since`), one per request ID, in time order. */
  private async labelledRows(modelId: string, modelName: string, task: ModelSpec['task'], since: Date | null): Promise<LabelledRow[]> {
    const { registry, store } = this.deps;
    const prefix = `predictions/${modelName}/`;
    const sinceDay = since ? since.toISOString().slice(0, 10) : '';
    const keys: string[] = [];
    for await (const item of store.client.listObjectsV2(store.bucket, prefix, true)) {
      const name = (item as { name?: string }).name;
      // predictions/<model>/<yyyy-mm-dd>/<replica>-<seq>.jsonl: whole days before `since` are not read at all.
      if (name && name.slice(prefix.length, prefix.length + 10) >= sinceDay) keys.push(name);
    }
    keys.sort();

    const from = since ?? new Date(0);
    const until = new Date(8.64e15); // the latest Date: no upper bound
    const labelled = new Map<string, LabelledRow>();
    let pending = new Map<string, LoggedRow>();
    const lookUp = async (): Promise<void> => {
      if (!pending.size) return;
      const answers = await registry.findFeedback(modelId, [...pending.keys()]);
      for (const f of answers) {
        const row = pending.get(f.requestId);
        const value = row ? targetOf(f, task) : null;
        if (row && value !== null) {
          const seen = labelled.get(row.requestId);
          if (!seen || row.ts < seen.ts) labelled.set(row.requestId, { ...row, target: value });
        }
      }
      pending = new Map();
    };
    let objects = 0;
    for (const key of keys) {
      const text = (await store.getBytes(key)).toString('utf8');
      keepEarliest(pending, labellableRows(parseLogLines(text, modelName, from, until).records, modelId));
      if (pending.size >= FEEDBACK_BATCH) await lookUp();
      if (++objects % 50 === 0) heartbeat({ stage: 'reading prediction logs', objects, labelled: labelled.size });
    }
    await lookUp();
    return orderRows(labelled.values());
  }
}

/** Writes the base rows (file order) and then the labelled rows as one CSV; returns the sha256 of what was written. */
export async function writeRetrainingCsv(file: string, base: ReadTable, labelled: readonly LabelledRow[], target: string, includeBase = true): Promise<string> {
  const hash = createHash('sha256');
  const out = fs.createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.on('finish', () => resolve());
  });
  // Records go out in chunks of some 64 KiB: one write (and one hash update) per record would dominate the time.
  let chunk = '';
  const flush = async (): Promise<void> => {
    hash.update(chunk, 'utf8');
    const drained = out.write(chunk, 'utf8');
    chunk = '';
    if (!drained) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  const write = async (text: string): Promise<void> => {
    chunk += text;
    if (chunk.length >= 65_536) await flush();
  };
  // Without the base rows, a column the logs never carry (a date, an id) is empty in every row; it stays, so the
  // spec's features.exclude still names it.
  const columns = base.columns;
  // Parquet dates and timestamps arrive as epoch milliseconds: as ISO text, CSV inference sees datetimes again.
  const datetime = new Set(columns.filter((c) => base.typeHints[c] === 'datetime'));
  await write(csvRecord(columns));
  for (let r = 0; includeBase && r < base.rowCount; r++) {
    await write(
      csvRecord(
        columns.map((c) => {
          const v = base.data[c][r];
          return datetime.has(c) && typeof v === 'number' ? new Date(v).toISOString() : v;
        }),
      ),
    );
  }
  for (const row of labelled) await write(csvRecord(projectRow(row, columns, target)));
  await flush();
  out.end();
  await done;
  return hash.digest('hex');
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The activity functions the worker registers, bound to one set of dependencies. */
export function createRetrainingDataActivities(deps: RetrainingDataDeps) {
  const a = new RetrainingDataActivities(deps);
  return {
    assembleRetrainingData: a.assembleRetrainingData.bind(a),
  };
}
