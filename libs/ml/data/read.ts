/**
 * Reads a dataset file (CSV, JSON Lines or Parquet) into a columnar RawTable. Files are streamed: memory holds the
 * table being built, never a second copy of the file as one string. Anything malformed throws DataReadError with
 * the line or part of the file at fault, because these messages go back to the person who uploaded the file.
 *
 * Value rules, whatever the format: an empty string becomes null; numbers from JSON and Parquet stay numbers (CSV
 * gives strings, typed later by schema inference); non-finite numbers (NaN, ±Infinity) become null; Parquet BigInt
 * becomes number (exact up to 2^53) and dates/timestamps become epoch milliseconds; nested JSON/Parquet values
 * (objects, lists) become their JSON text.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { CsvError, parse as parseCsv } from 'csv-parse';
import type * as HyparquetModule from 'hyparquet';
import type { AsyncBuffer, FileMetaData, ParquetReadOptions, SchemaElement } from 'hyparquet';
import type * as NodeModule from 'node:module';
import { DataReadError } from './errors';
import type { ColumnType, RawTable, RawValue } from './types';

export { DataReadError } from './errors';

export type DatasetFormat = 'csv' | 'jsonl' | 'parquet';

/** A source's format from its name (extension, query string ignored): Parquet, JSON Lines, else CSV. */
export function formatFromName(source: string): DatasetFormat {
  const name = source.split('?')[0].toLowerCase();
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name.endsWith('.json')) return 'jsonl';
  return 'csv';
}
export const DATASET_FORMATS: readonly DatasetFormat[] = ['csv', 'jsonl', 'parquet'];

export interface ReadOptions {
  /** stop after this many data rows (previews, quick checks); default: all rows */
  maxRows?: number;
}

/**
 * A RawTable plus the column types the file itself declares (Parquet only: DATE/TIMESTAMP columns are datetime,
 * BOOLEAN is boolean, strings are categorical). `inferTable` applies them, so a Parquet timestamp stays a datetime
 * even though its values arrive as epoch-millisecond numbers.
 */
export interface ReadTable extends RawTable {
  format: DatasetFormat;
  typeHints: Record<string, ColumnType>;
}

const PARQUET_MAGIC = 'PAR1';
/** bytes `readDatasetFile` sniffs to detect a format when none is given */
export const SNIFF_BYTES = 4096;

/**
 * Decides the format of a file from its first bytes and its name. Content wins over the extension where the
 * content is unambiguous (Parquet magic bytes); a `.json` file must be JSON Lines, since a JSON array cannot be
 * streamed row by row.
 */
export function detectFormat(path: string, firstBytes: Buffer): DatasetFormat {
  if (firstBytes.length >= 4 && firstBytes.subarray(0, 4).toString('latin1') === PARQUET_MAGIC) return 'parquet';
  if (firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) {
    throw new DataReadError(`${path}: file is gzip-compressed; upload the uncompressed CSV, JSON Lines or Parquet file`);
  }
  const ext = extname(path.replace(/\?.*$/, '')).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  const first = firstNonSpaceChar(firstBytes);
  if (first === '[') {
    throw new DataReadError(
      `${path}: file is a JSON array; convert it to JSON Lines (one JSON object per line, e.g. with \`jq -c '.[]'\`)`,
    );
  }
  if (first === '{') return 'jsonl';
  if (ext === '.json') {
    throw new DataReadError(`${path}: a .json file must hold JSON Lines (one JSON object per line)`);
  }
  return 'csv';
}

function firstNonSpaceChar(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const match = /\S/.exec(text);
  return match?.[0];
}

/** Reads a whole dataset file into a RawTable. The format is detected from the content and name unless given. */
export async function readDatasetFile(path: string, format?: DatasetFormat, options: ReadOptions = {}): Promise<ReadTable> {
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  if (!(maxRows >= 0)) throw new RangeError(`maxRows must be a non-negative number, got ${options.maxRows}`);
  const { size } = await stat(path);
  if (size === 0) throw new DataReadError(`${path}: file is empty`);
  const resolved = format ?? detectFormat(path, await readHead(path, SNIFF_BYTES));
  switch (resolved) {
    case 'csv':
      return readCsv(path, maxRows);
    case 'jsonl':
      return readJsonLines(path, maxRows);
    case 'parquet':
      return readParquet(path, size, maxRows);
    default:
      throw new DataReadError(`unknown format '${String(resolved)}'; expected one of ${DATASET_FORMATS.join(', ')}`);
  }
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Columnar accumulator shared by the row-oriented readers. */
class ColumnBuilder {
  readonly columns: string[] = [];
  readonly data: Record<string, RawValue[]> = Object.create(null) as Record<string, RawValue[]>;
  rowCount = 0;

  addColumn(name: string): RawValue[] {
    const values: RawValue[] = new Array<RawValue>(this.rowCount).fill(null);
    this.columns.push(name);
    this.data[name] = values;
    return values;
  }

  finish(format: DatasetFormat, typeHints: Record<string, ColumnType> = {}): ReadTable {
    return { columns: this.columns, rowCount: this.rowCount, data: this.data, format, typeHints };
  }
}

// ---------------------------------------------------------------------------------------------------------------- CSV

async function readCsv(path: string, maxRows: number): Promise<ReadTable> {
  const source = createReadStream(path);
  const parser = parseCsv({
    bom: true,
    info: true,
    // We check field counts ourselves, to say which line is short and how many fields it should have.
    relax_column_count: true,
    skip_empty_lines: true,
    // Accept files whose line endings are mixed (the default locks onto the first ending it sees).
    record_delimiter: ['\r\n', '\n', '\r'],
  });
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);

  const builder = new ColumnBuilder();
  let header: string[] | undefined;
  let columns: RawValue[][] = [];
  let previousEndLine = 0;
  let previousEmptyLines = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: CsvInfo }>) {
      // The record's first line: csv-parse reports where a record ends, and a quoted field may span lines.
      const line = previousEndLine + 1 + (info.empty_lines - previousEmptyLines);
      previousEndLine = info.lines;
      previousEmptyLines = info.empty_lines;
      if (!header) {
        header = checkHeader(record, line);
        columns = header.map((name) => builder.addColumn(name));
        continue;
      }
      if (builder.rowCount >= maxRows) break;
      if (record.length !== header.length) {
        throw new DataReadError(
          `line ${line}: expected ${header.length} fields (as in the header), found ${record.length}`,
        );
      }
      for (let c = 0; c < record.length; c++) {
        const value = record[c];
        columns[c].push(value === '' ? null : value);
      }
      builder.rowCount++;
    }
  } catch (err) {
    if (err instanceof DataReadError) throw err;
    if (err instanceof CsvError) {
      const lines: unknown = err.lines;
      const where = typeof lines === 'number' ? `line ${lines}: ` : '';
      throw new DataReadError(`${where}malformed CSV: ${err.message}`);
    }
    throw err;
  } finally {
    source.destroy();
  }
  if (!header) throw new DataReadError(`${path}: file is empty (no header row)`);
  return builder.finish('csv');
}

interface CsvInfo {
  lines: number;
  empty_lines: number;
}

function checkHeader(names: string[], line: number): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  names.forEach((raw, i) => {
    const name = raw.trim();
    if (name === '') problems.push(`header column ${i + 1} has no name`);
    else if (seen.has(name)) problems.push(`column name '${name}' appears twice in the header (columns ${seen.get(name)! + 1} and ${i + 1})`);
    else seen.set(name, i);
  });
  if (problems.length > 0) {
    throw new DataReadError(`line ${line}: invalid header: ${problems.join('; ')}`, problems.map((p) => `line ${line}: ${p}`));
  }
  return names.map((n) => n.trim());
}

// -------------------------------------------------------------------------------------------------------- JSON Lines

async function readJsonLines(path: string, maxRows: number): Promise<ReadTable> {
  const source = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY });
  const builder = new ColumnBuilder();
  let lineNumber = 0;
  try {
    for await (const rawLine of lines) {
      lineNumber++;
      const line = lineNumber === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
      if (line.trim() === '') continue;
      if (builder.rowCount >= maxRows) break;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        throw new DataReadError(`line ${lineNumber}: invalid JSON (${(err as Error).message})`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        const found = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
        throw new DataReadError(`line ${lineNumber}: expected a JSON object, found ${found}`);
      }
      const row = builder.rowCount;
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
        const column = builder.data[key] ?? builder.addColumn(key);
        column[row] = toRawValue(value);
      }
      builder.rowCount++;
      // Columns this row did not mention are missing in it.
      for (const name of builder.columns) {
        const column = builder.data[name];
        if (column.length < builder.rowCount) column.push(null);
      }
    }
  } finally {
    lines.close();
    source.destroy();
  }
  if (builder.columns.length === 0 && builder.rowCount === 0) throw new DataReadError(`${path}: file is empty (no JSON objects)`);
  return builder.finish('jsonl');
}

/** Normalises one JSON/Parquet value to a RawValue (see the module comment for the rules). */
function toRawValue(value: unknown): RawValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return value === '' ? null : value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return Number(value);
    default:
      break;
  }
  // Date objects may come from another realm (hyparquet is loaded by the host's require), so no instanceof.
  if (Object.prototype.toString.call(value) === '[object Date]') {
    const ms = (value as Date).getTime();
    return Number.isFinite(ms) ? ms : null;
  }
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
}

// ----------------------------------------------------------------------------------------------------------- Parquet

type Hyparquet = typeof HyparquetModule;
let hyparquet: Hyparquet | undefined;

/**
 * hyparquet ships only as ES modules. Node ≥ 20.19 can `require()` them, but test runners with their own module
 * registry (jest) cannot, so we take the host's real `require` via `process.getBuiltinModule` (Node ≥ 20.16).
 */
function hostRequire(id: string): unknown {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (getBuiltin) {
    const nodeModule = getBuiltin('node:module') as typeof NodeModule;
    return nodeModule.createRequire(__filename)(id);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id);
}

function loadHyparquet(): Hyparquet {
  hyparquet ??= hostRequire('hyparquet') as Hyparquet;
  return hyparquet;
}

let decompressors: NonNullable<ParquetReadOptions['compressors']> | undefined;
/** hyparquet-compressors adds ZSTD, LZ4 and friends (vega-datasets' flights-3m.parquet is ZSTD); zlib covers the rest. */
function loadDecompressors(): NonNullable<ParquetReadOptions['compressors']> {
  if (!decompressors) {
    const extra = (hostRequire('hyparquet-compressors') as { compressors: NonNullable<ParquetReadOptions['compressors']> }).compressors;
    decompressors = { ...extra, ...ZLIB_DECOMPRESSORS };
  }
  return decompressors;
}

const DAY_MS = 86_400_000;

/** GZIP and BROTLI through Node's own zlib. */
const ZLIB_DECOMPRESSORS: NonNullable<ParquetReadOptions['compressors']> = {
  GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input: Uint8Array) => new Uint8Array(brotliDecompressSync(input)),
};

async function readParquet(path: string, size: number, maxRows: number): Promise<ReadTable> {
  const pq = loadHyparquet();
  // hyparquet's own file reader: each slice is a ranged read stream, so only the footer and the column chunks
  // being decoded are in memory. (It must be hyparquet's: it tells promises from buffers with `instanceof
  // Promise`, which fails for promises made in another realm, such as a jest sandbox.)
  const file = await (pq as Hyparquet & { asyncBufferFromFile(path: string): Promise<AsyncBuffer> }).asyncBufferFromFile(path);
  await checkParquetMagic(file, size);
  let metadata: FileMetaData;
  try {
    metadata = await pq.parquetMetadataAsync(file);
  } catch (err) {
    throw new DataReadError(`not a readable Parquet file (invalid footer metadata: ${(err as Error).message})`);
  }
  const fields = pq.parquetSchema(metadata).children;
  const builder = new ColumnBuilder();
  builder.rowCount = Math.min(Number(metadata.num_rows), maxRows);
  const typeHints: Record<string, ColumnType> = {};
  for (const field of fields) {
    const name = field.element.name;
    builder.addColumn(name);
    const hint = parquetTypeHint(field.element, field.children.length > 0);
    if (hint) typeHints[name] = hint;
  }
  const unsupported = unsupportedCodecs(metadata);
  if (unsupported.length > 0) {
    throw new DataReadError(
      `Parquet compression codec ${unsupported.join(', ')} is not supported; rewrite the file with SNAPPY, GZIP, ` +
        'BROTLI or no compression',
    );
  }
  if (builder.rowCount > 0) {
    try {
      await pq.parquetRead({
        file,
        metadata,
        rowEnd: builder.rowCount,
        compressors: loadDecompressors(),
        parsers: {
          timestampFromMilliseconds: (ms: bigint) => Number(ms),
          timestampFromMicroseconds: (us: bigint) => Number(us / 1000n),
          timestampFromNanoseconds: (ns: bigint) => Number(ns / 1_000_000n),
          dateFromDays: (days: number) => days * DAY_MS,
        },
        onChunk: ({ columnName, columnData, rowStart }) => {
          const column = builder.data[columnName];
          if (!column) return;
          // Chunks may cover rows outside the requested range.
          const end = Math.min(rowStart + columnData.length, builder.rowCount);
          for (let row = Math.max(rowStart, 0); row < end; row++) column[row] = toRawValue(columnData[row - rowStart]);
        },
      });
    } catch (err) {
      throw new DataReadError(`Parquet file could not be decoded: ${(err as Error).message}`);
    }
  }
  return builder.finish('parquet', typeHints);
}

async function checkParquetMagic(file: AsyncBuffer, size: number): Promise<void> {
  if (size < 12) throw new DataReadError(`not a Parquet file (only ${size} bytes; too small to hold a Parquet footer)`);
  const head = Buffer.from(await file.slice(0, 4)).toString('latin1');
  const tail = Buffer.from(await file.slice(size - 4, size)).toString('latin1');
  if (head === PARQUET_MAGIC && tail === PARQUET_MAGIC) return;
  if (tail === 'PARE') throw new DataReadError('Parquet file is encrypted (footer magic PARE); encrypted files are not supported');
  const where = head !== PARQUET_MAGIC ? (tail !== PARQUET_MAGIC ? 'start and end' : 'start') : 'end';
  throw new DataReadError(
    `not a Parquet file (bad magic bytes at the ${where}: expected 'PAR1'` +
      (head === PARQUET_MAGIC ? '; the file may be truncated)' : ')'),
  );
}

function unsupportedCodecs(metadata: FileMetaData): string[] {
  const supported = new Set(['UNCOMPRESSED', 'SNAPPY', ...Object.keys(loadDecompressors())]);
  const found = new Set<string>();
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const codec = chunk.meta_data?.codec;
      if (codec && !supported.has(codec)) found.add(codec);
    }
  }
  return [...found].sort();
}

/** The column type a Parquet schema element declares, when it says more than inference would find. */
function parquetTypeHint(element: SchemaElement, nested: boolean): ColumnType | undefined {
  if (nested) return 'categorical';
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (logical === 'DATE' || logical === 'TIMESTAMP' || converted === 'DATE' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS') {
    return 'datetime';
  }
  if (element.type === 'INT96') return 'datetime';
  if (element.type === 'BOOLEAN') return 'boolean';
  if (logical === 'STRING' || logical === 'ENUM' || logical === 'UUID' || logical === 'JSON' || converted === 'UTF8' || converted === 'ENUM' || converted === 'JSON') {
    return 'categorical';
  }
  if (element.type === 'INT32' || element.type === 'INT64' || element.type === 'FLOAT' || element.type === 'DOUBLE') return 'numeric';
  return undefined;
}
