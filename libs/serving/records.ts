/**
 * The friendly prediction format, pure: `{"records": [{column: value, ...}, ...]}` in (raw feature rows, the same
 * columns as the training data) and one `{label, probabilities}` or `{value}` per row out.
 */
import type { FeatureColumn } from '../ml/data/types';
import type { ColumnData } from './oip';
import type { ModelSignature } from './signature';

export interface RecordProblem {
  path: string;
  message: string;
}

export class RecordsError extends Error {
  constructor(
    message: string,
    readonly problems: RecordProblem[] = [],
    readonly status = 400,
  ) {
    super(message);
    this.name = 'RecordsError';
  }
}

const MAX_LISTED = 20;

function list(names: Iterable<string>): string {
  return [...names].map((n) => `'${n}'`).join(', ');
}

/**
 * Turns records into one column per feature. Unknown and missing columns are reported together, by name; values
 * are checked per kind (numbers, numeric strings or null for numeric features; strings, numbers, booleans or null
 * for categorical ones). null and absent-but-declared values are missing values: NaN and '' under the contract.
 */
export function decodeRecords(body: unknown, features: FeatureColumn[], maxRows: number): { rows: number; columns: Record<string, ColumnData> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RecordsError('send a JSON object {"records": [{"column": value, ...}, ...]}');
  }
  const extraKeys = Object.keys(body).filter((k) => k !== 'records');
  if (extraKeys.length) throw new RecordsError(`unknown field${extraKeys.length > 1 ? 's' : ''} ${list(extraKeys)}; the body has only "records"`);
  const records = (body as { records?: unknown }).records;
  if (!Array.isArray(records) || records.length === 0) throw new RecordsError('"records" must be a non-empty array of objects, one per row');
  if (records.length > maxRows) throw new RecordsError(`${records.length} records; this server takes at most ${maxRows} per request`, [], 413);

  const featureNames = new Set(features.map((f) => f.name));
  const unknown = new Set<string>();
  const missing = new Map<string, number>();
  const problems: RecordProblem[] = [];
  for (let r = 0; r < records.length; r++) {
    const rec = records[r];
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      problems.push({ path: `records[${r}]`, message: 'must be an object of column → value' });
      continue;
    }
    for (const k of Object.keys(rec)) if (!featureNames.has(k)) unknown.add(k);
    for (const f of features) if (!(f.name in rec)) missing.set(f.name, (missing.get(f.name) ?? 0) + 1);
  }
  if (problems.length) throw new RecordsError(`${problems[0].path} ${problems[0].message}`, problems.slice(0, MAX_LISTED));
  if (unknown.size || missing.size) {
    const parts: string[] = [];
    if (unknown.size) parts.push(`unknown column${unknown.size > 1 ? 's' : ''} ${list(unknown)}`);
    if (missing.size) {
      parts.push(
        `missing column${missing.size > 1 ? 's' : ''} ${[...missing].map(([n, c]) => `'${n}'${c < records.length ? ` (in ${c} of ${records.length} records)` : ''}`).join(', ')}`,
      );
    }
    throw new RecordsError(`${parts.join('; ')}; the model's columns are ${list(featureNames)} (null for a missing value)`, [
      ...[...unknown].map((n) => ({ path: n, message: 'not a column of this model' })),
      ...[...missing.keys()].map((n) => ({ path: n, message: 'missing' })),
    ]);
  }

  const columns: Record<string, ColumnData> = {};
  for (const f of features) {
    if (f.kind === 'numeric') {
      const col = new Float32Array(records.length);
      for (let r = 0; r < records.length; r++) {
        const v = (records[r] as Record<string, unknown>)[f.name];
        if (typeof v === 'number') col[r] = v;
        else if (v === null) col[r] = NaN;
        else if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) col[r] = Number(v);
        else if (typeof v === 'string' && v.trim() === '') col[r] = NaN;
        else if (problems.length < MAX_LISTED) problems.push({ path: `records[${r}].${f.name}`, message: `must be a number or null, got ${JSON.stringify(v)}` });
      }
      columns[f.name] = col;
    } else {
      const col = new Array<string>(records.length);
      for (let r = 0; r < records.length; r++) {
        const v = (records[r] as Record<string, unknown>)[f.name];
        if (typeof v === 'string') col[r] = v;
        else if (v === null) col[r] = '';
        else if (typeof v === 'number' || typeof v === 'boolean') col[r] = Number.isNaN(v) ? '' : String(v);
        else if (problems.length < MAX_LISTED) problems.push({ path: `records[${r}].${f.name}`, message: `must be a string, number, boolean or null, got ${JSON.stringify(v)}` });
      }
      columns[f.name] = col;
    }
  }
  if (problems.length) {
    throw new RecordsError(`${problems[0].path} ${problems[0].message}${problems.length > 1 ? ` (and ${problems.length - 1} more, see details)` : ''}`, problems);
  }
  return { rows: records.length, columns };
}

export type RecordPrediction = { label: string; probabilities: Record<string, number> } | { value: number | null };

/** One prediction object per row from the model's raw outputs. */
export function predictionsFromOutputs(signature: ModelSignature, rows: number, outputs: Record<string, ColumnData>): RecordPrediction[] {
  const out: RecordPrediction[] = new Array(rows);
  if (signature.classes) {
    const labels = outputs.label as string[];
    const proba = outputs.probabilities as Float32Array;
    const classes = signature.classes;
    const C = classes.length;
    for (let r = 0; r < rows; r++) {
      const probabilities: Record<string, number> = {};
      for (let c = 0; c < C; c++) probabilities[classes[c]] = proba[r * C + c];
      out[r] = { label: String(labels[r]), probabilities };
    }
  } else {
    const values = outputs.variable as Float32Array;
    for (let r = 0; r < rows; r++) out[r] = { value: Number.isFinite(values[r]) ? values[r] : null };
  }
  return out;
}
