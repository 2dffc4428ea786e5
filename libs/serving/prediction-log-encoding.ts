/**
 * The prediction log's records and how they become objects: JSON Lines grouped by model and day, at most about
 * 2 MiB each. Pure, so that it runs on the prediction log's own thread (prediction-log-thread.ts), off the API's
 * event loop: turning every logged number into text is the logger's largest cost.
 */

export interface PredictionRecord {
  /** ISO time the request arrived */
  ts: string;
  requestId: string;
  model: string;
  modelId?: string;
  version?: number;
  /** 'v2' (Open Inference Protocol) or 'v1' (records) */
  endpoint: 'v2' | 'v1';
  /** true when routing chose the version, false when the caller named it */
  routed: boolean;
  status: number;
  latencyMs: number;
  rows?: number;
  /** column name → values (Float32Array or strings; NaN and '' are missing values) */
  inputs?: Record<string, ArrayLike<number> | string[]>;
  /** output name → values, row-major */
  outputs?: Record<string, ArrayLike<number> | string[]>;
  error?: string;
}

/** An object ready to be written: its records' lines, and what they weigh in the logger's queue. */
export interface SealedObject {
  /** `predictions/<model>/<yyyy-mm-dd>`: the object's key is this plus the replica and a sequence number */
  prefix: string;
  records: number;
  values: number;
  body: Uint8Array;
}

/** Largest object written (before the next record starts a new one). */
export const MAX_OBJECT_BYTES = 2 * 1024 * 1024;

function plain(values: ArrayLike<number> | string[]): unknown[] {
  // Float32Array → numbers (JSON.stringify writes NaN as null, the protocol's missing value).
  return Array.isArray(values) ? values : Array.from(values as ArrayLike<number>);
}

export function serializeRecord(r: PredictionRecord): string {
  const convert = (cols?: Record<string, ArrayLike<number> | string[]>) => {
    if (!cols) return undefined;
    const out: Record<string, unknown[]> = {};
    for (const [k, v] of Object.entries(cols)) out[k] = plain(v);
    return out;
  };
  return JSON.stringify({ ...r, inputs: convert(r.inputs), outputs: convert(r.outputs) });
}

/** The weight of a record in the queue: how many values it carries. */
export function valuesOf(r: PredictionRecord): number {
  let n = 1;
  for (const v of Object.values(r.inputs ?? {})) n += v.length;
  for (const v of Object.values(r.outputs ?? {})) n += v.length;
  return n;
}

export function objectPrefix(r: Pick<PredictionRecord, 'model' | 'ts'>): string {
  return `predictions/${r.model}/${r.ts.slice(0, 10)}`;
}

/**
 * Records on their way to the log's thread, packed: every number in one buffer (transferred, not cloned), every
 * string value in one array, and per record its fields and where its columns are. Structured cloning the records
 * themselves cost the request path several microseconds each, mostly for their many small typed arrays (a result
 * split out of a batch is a view, and a clone copies the view's whole buffer).
 *
 * The strings every record of a model repeats (model, model id, endpoint, column names, error messages) go once per
 * hand-off into `names`, and records refer to them by index: cloning the same short strings for every record was
 * most of what the hand-off still cost.
 */
export interface PackedRecords {
  /** per record: [ts, requestId, model, modelId, version, endpoint, routed, status, latencyMs, rows, error, inputs, outputs] */
  meta: PackedMeta[];
  numbers: Float64Array;
  /** string values of the columns, in order */
  strings: string[];
  /** the repeated strings the records' fields and column layouts name by index */
  names: string[];
}

/** a record's columns: index of the name in `names`, then the count of values, negative for strings */
type PackedColumns = number[] | null;

/** Indexes into `names` stand for model, modelId, endpoint and error; -1 for an absent one. */
type PackedMeta = [string, string, number, number, number | undefined, number, boolean, number, number, number | undefined, number, PackedColumns, PackedColumns];

const PACKER_INITIAL_NUMBERS = 1024;

/** Packs records as they are logged; `take` hands over what it holds and starts again. */
export class RecordPacker {
  private meta: PackedMeta[] = [];
  private numbers = new Float64Array(PACKER_INITIAL_NUMBERS);
  private used = 0;
  private strings: string[] = [];
  private names: string[] = [];
  private nameIndex = new Map<string, number>();

  get size(): number {
    return this.meta.length;
  }

  add(r: PredictionRecord): void {
    this.meta.push([
      r.ts,
      r.requestId,
      this.name(r.model),
      this.name(r.modelId),
      r.version,
      this.name(r.endpoint),
      r.routed,
      r.status,
      r.latencyMs,
      r.rows,
      this.name(r.error),
      this.columns(r.inputs),
      this.columns(r.outputs),
    ]);
  }

  take(): PackedRecords {
    const packed = { meta: this.meta, numbers: this.numbers.slice(0, this.used), strings: this.strings, names: this.names };
    this.meta = [];
    this.used = 0;
    this.strings = [];
    this.names = [];
    this.nameIndex = new Map();
    // a buffer grown for one huge request is not kept for the small ones after it
    if (this.numbers.length > 64 * PACKER_INITIAL_NUMBERS) this.numbers = new Float64Array(PACKER_INITIAL_NUMBERS);
    return packed;
  }

  private name(text: string | undefined): number {
    if (text === undefined) return -1;
    let i = this.nameIndex.get(text);
    if (i === undefined) {
      i = this.names.push(text) - 1;
      this.nameIndex.set(text, i);
    }
    return i;
  }

  private columns(cols: Record<string, ArrayLike<number> | string[]> | undefined): PackedColumns {
    if (!cols) return null;
    const layout: number[] = [];
    for (const name in cols) {
      const values = cols[name];
      if (Array.isArray(values)) {
        layout.push(this.name(name), -values.length);
        for (const v of values) this.strings.push(v);
        continue;
      }
      layout.push(this.name(name), values.length);
      if (this.used + values.length > this.numbers.length) {
        const grown = new Float64Array(Math.max(this.numbers.length * 2, this.used + values.length));
        grown.set(this.numbers.subarray(0, this.used));
        this.numbers = grown;
      }
      for (let i = 0; i < values.length; i++) this.numbers[this.used++] = values[i];
    }
    return layout;
  }
}

/** The records a RecordPacker packed, with the same fields, in the same order (so they serialize the same). */
export function unpackRecords({ meta, numbers, strings, names }: PackedRecords): PredictionRecord[] {
  let atNumber = 0;
  let atString = 0;
  const named = (i: number) => (i < 0 ? undefined : names[i]);
  const columns = (layout: PackedColumns): Record<string, ArrayLike<number> | string[]> | undefined => {
    if (!layout) return undefined;
    const out: Record<string, ArrayLike<number> | string[]> = {};
    for (let i = 0; i < layout.length; i += 2) {
      const n = layout[i + 1];
      if (n < 0) {
        out[names[layout[i]]] = strings.slice(atString, atString - n);
        atString -= n;
      } else {
        out[names[layout[i]]] = numbers.subarray(atNumber, atNumber + n);
        atNumber += n;
      }
    }
    return out;
  };
  return meta.map(([ts, requestId, model, modelId, version, endpoint, routed, status, latencyMs, rows, error, inputs, outputs]) => ({
    ts,
    requestId,
    model: names[model],
    modelId: named(modelId),
    version,
    endpoint: names[endpoint] as PredictionRecord['endpoint'],
    routed,
    status,
    latencyMs,
    rows,
    inputs: columns(inputs),
    outputs: columns(outputs),
    error: named(error),
  }));
}

interface OpenObject {
  lines: string[];
  bytes: number;
  records: number;
  values: number;
}

/**
 * Collects serialized records into one open object per prefix. An object is sealed when the next record would
 * start past `maxObjectBytes`, and every open object is sealed once `batchSize` records are open (or on `sealAll`).
 * Objects come out in the order their prefixes were opened.
 */
export class LogObjectAssembler {
  private readonly open = new Map<string, OpenObject>();
  private openRecords = 0;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly batchSize: number,
    private readonly maxObjectBytes = MAX_OBJECT_BYTES,
  ) {}

  /** Adds a record; returns the objects this sealed. */
  add(record: PredictionRecord): SealedObject[] {
    const sealed: SealedObject[] = [];
    const prefix = objectPrefix(record);
    let target = this.open.get(prefix);
    if (target && target.bytes >= this.maxObjectBytes) {
      sealed.push(this.seal(prefix, target));
      target = undefined;
    }
    if (!target) {
      target = { lines: [], bytes: 0, records: 0, values: 0 };
      this.open.set(prefix, target);
    }
    const line = serializeRecord(record);
    target.lines.push(line);
    target.bytes += line.length + 1;
    target.records++;
    target.values += valuesOf(record);
    this.openRecords++;
    if (this.openRecords >= this.batchSize) sealed.push(...this.sealAll());
    return sealed;
  }

  sealAll(): SealedObject[] {
    return [...this.open].map(([prefix, o]) => this.seal(prefix, o));
  }

  private seal(prefix: string, o: OpenObject): SealedObject {
    this.open.delete(prefix);
    this.openRecords -= o.records;
    // TextEncoder gives the body a buffer of its own, which can be transferred to the uploading thread.
    return { prefix, records: o.records, values: o.values, body: this.encoder.encode(o.lines.join('\n') + '\n') };
  }
}
