/**
 * Types a RawTable: decides each column's type from its values (inferTable), or forces a schema already known from
 * an earlier snapshot or the model's training data (coerceToSchema, used at serving time and for later snapshots).
 *
 * Missing values: null, NaN, and the strings in MISSING_TOKENS ('', 'NA', 'N/A', 'null', 'NaN'), matched after
 * trimming spaces and ignoring case (so 'na', ' NULL ' and 'nan' are missing too). 'None', '-', '?' are ordinary
 * values.
 *
 * Inference, in order, over the non-missing values of a column:
 *   boolean     every value is true/false (JSON booleans, or the strings 'true'/'false' in any case). 0/1 and
 *               yes/no are left alone: 0/1 is a fine numeric column, yes/no a fine categorical one.
 *   numeric     every value is a finite number or a decimal number string ('12', '-3.5', '1e-3'; no hex, no
 *               thousands separators, no 'Infinity').
 *   datetime    every value is an ISO 8601 date or timestamp string: 2012-01-01, 2012-01-01T08:30, 2012-01-01
 *               08:30:15.250, 2012-01-01T08:30:00Z, 2012-01-01T08:30:00+02:00. Without a zone the time is UTC, so the
 *               result does not depend on the machine. Stored as epoch milliseconds in `numeric`.
 *   categorical anything else, and columns with no values at all.
 */
import { DataReadError } from './errors';
import type { ColumnSchema, ColumnType, DatasetSchema, RawTable, RawValue, TypedTable } from './types';

export const MISSING_TOKENS: readonly string[] = ['', 'NA', 'N/A', 'null', 'NaN'];
const MISSING_LOWER = new Set(MISSING_TOKENS.map((t) => t.toLowerCase()));
const LONGEST_TOKEN_WITH_PADDING = 16;

/** True when a raw value counts as missing (see MISSING_TOKENS). */
export function isMissing(value: RawValue | undefined): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'number') return Number.isNaN(value);
  if (typeof value === 'string') {
    if (value.length === 0) return true;
    if (value.length > LONGEST_TOKEN_WITH_PADDING) return false;
    return MISSING_LOWER.has(value.trim().toLowerCase());
  }
  return false;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The finite number a non-missing value stands for, or undefined when it is not one. */
export function parseNumber(value: RawValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!DECIMAL.test(text)) return undefined;
  const parsed = Number(text);
  return Number.isFinite(parsed) ? parsed : undefined;
}

const ISO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** Epoch milliseconds of an ISO 8601 date or timestamp string (UTC when no zone is given), or undefined. */
export function parseDatetime(value: string): number | undefined {
  const m = ISO_DATETIME.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0-99 literal, unlike Date.UTC
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** 'true'/'false' for values inference accepts as boolean (true/false in any case), else undefined. */
function parseStrictBoolean(value: RawValue): 'true' | 'false' | undefined {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'string' || value.length > 7) return undefined;
  const text = value.trim().toLowerCase();
  return text === 'true' ? 'true' : text === 'false' ? 'false' : undefined;
}

/** Wider boolean reading used when the type is already known (hints, coerceToSchema): also yes/no, y/n, t/f, 1/0. */
function parseLenientBoolean(value: RawValue): 'true' | 'false' | undefined {
  if (typeof value === 'number') return value === 1 ? 'true' : value === 0 ? 'false' : undefined;
  const strict = parseStrictBoolean(value);
  if (strict || typeof value !== 'string') return strict;
  const text = value.trim().toLowerCase();
  if (text === 'yes' || text === 'y' || text === 't' || text === '1') return 'true';
  if (text === 'no' || text === 'n' || text === 'f' || text === '0') return 'false';
  return undefined;
}

/** The type inference gives a column (see the module comment). */
export function inferColumnType(values: readonly RawValue[]): ColumnType {
  let boolean = true;
  let numeric = true;
  let datetime = true;
  let seen = false;
  for (const value of values) {
    if (isMissing(value)) continue;
    seen = true;
    if (boolean && parseStrictBoolean(value) === undefined) boolean = false;
    if (numeric && parseNumber(value) === undefined) numeric = false;
    if (datetime && (typeof value !== 'string' || parseDatetime(value) === undefined)) datetime = false;
    if (!boolean && !numeric && !datetime) return 'categorical';
  }
  if (!seen) return 'categorical';
  if (boolean) return 'boolean';
  if (numeric) return 'numeric';
  if (datetime) return 'datetime';
  return 'categorical';
}

/** A RawTable, possibly carrying the column types its file declared (see ReadTable in read.ts). */
export type RawTableWithHints = RawTable & { typeHints?: Record<string, ColumnType> };

/**
 * Types every column of a raw table. `hints` force a column's type (for example a numeric code that is really a
 * category); types the file itself declares (Parquet) apply next; the rest are inferred. A hinted column whose
 * values do not fit its type throws DataReadError listing the rows.
 */
export function inferTable(raw: RawTableWithHints, hints: Record<string, ColumnType> = {}): TypedTable {
  const unknown = Object.keys(hints).filter((name) => !Object.hasOwn(raw.data, name));
  if (unknown.length > 0) {
    throw new DataReadError(
      `type hints name ${unknown.length === 1 ? 'a column' : 'columns'} not in the data: ${quoteList(unknown)}; ` +
        `columns are: ${quoteList(raw.columns)}`,
    );
  }
  const fileHints = raw.typeHints ?? {};
  const types = raw.columns.map(
    (name) => (Object.hasOwn(hints, name) ? hints[name] : undefined) ?? (Object.hasOwn(fileHints, name) ? fileHints[name] : undefined) ?? inferColumnType(raw.data[name]),
  );
  return buildTable(raw, raw.columns.map((name, i) => ({ name, type: types[i] })));
}

/**
 * Types a raw table with a known schema: the schema's columns, in its order, with its types (extra columns in
 * the data are dropped). Throws DataReadError listing every missing column and every value that does not fit its
 * column's type, e.g. "column 'temp_max' is numeric but row 12 has 'abc'" (rows count data rows from 1). Missing
 * rates are recomputed from the data.
 */
export function coerceToSchema(raw: RawTable, schema: DatasetSchema): TypedTable {
  const absent = schema.columns.filter((c) => !Object.hasOwn(raw.data, c.name)).map((c) => c.name);
  if (absent.length > 0) {
    throw new DataReadError(
      `data is missing ${absent.length === 1 ? 'column' : 'columns'} ${quoteList(absent)} required by the schema; ` +
        `columns found: ${quoteList(raw.columns)}`,
    );
  }
  return buildTable(raw, schema.columns.map(({ name, type }) => ({ name, type })));
}

const MAX_EXAMPLE_ROWS = 5;

function buildTable(raw: RawTable, columns: { name: string; type: ColumnType }[]): TypedTable {
  // Prototype-less maps: a column may be called 'constructor' or '__proto__'.
  const table: TypedTable = {
    schema: { columns: [] },
    rowCount: raw.rowCount,
    numeric: Object.create(null) as Record<string, Float64Array>,
    categorical: Object.create(null) as Record<string, (string | null)[]>,
  };
  const problems: string[] = [];
  for (const { name, type } of columns) {
    const values = raw.data[name];
    if (values.length !== raw.rowCount) {
      throw new DataReadError(`column '${name}' has ${values.length} values but the table has ${raw.rowCount} rows`);
    }
    const bad: number[] = [];
    let missing = 0;
    if (type === 'numeric' || type === 'datetime') {
      const out = new Float64Array(raw.rowCount);
      for (let row = 0; row < values.length; row++) {
        const value = values[row];
        if (isMissing(value)) {
          out[row] = Number.NaN;
          missing++;
          continue;
        }
        const parsed = type === 'numeric' ? parseNumber(value) : toEpochMillis(value);
        if (parsed === undefined) {
          out[row] = Number.NaN;
          bad.push(row);
        } else out[row] = parsed;
      }
      table.numeric[name] = out;
    } else {
      const out: (string | null)[] = new Array<string | null>(raw.rowCount);
      for (let row = 0; row < values.length; row++) {
        const value = values[row];
        if (isMissing(value)) {
          out[row] = null;
          missing++;
          continue;
        }
        if (type === 'boolean') {
          const parsed = parseLenientBoolean(value);
          if (parsed === undefined) {
            out[row] = null;
            bad.push(row);
          } else out[row] = parsed;
        } else out[row] = String(value);
      }
      table.categorical[name] = out;
    }
    if (bad.length > 0) problems.push(describeBadValues(name, type, values, bad));
    const column: ColumnSchema = { name, type, missingRate: raw.rowCount === 0 ? 0 : missing / raw.rowCount };
    table.schema.columns.push(column);
  }
  if (problems.length > 0) throw new DataReadError(problems.join('; '), problems);
  return table;
}

/** Datetime values: ISO strings, or numbers already in epoch milliseconds (Parquet dates and timestamps). */
function toEpochMillis(value: RawValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseDatetime(value);
  return undefined;
}

const TYPE_WORDING: Record<ColumnType, string> = {
  numeric: 'numeric',
  datetime: 'a datetime column (ISO 8601 dates)',
  boolean: 'boolean',
  categorical: 'categorical',
};

function describeBadValues(name: string, type: ColumnType, values: readonly RawValue[], rows: number[]): string {
  const examples = rows
    .slice(0, MAX_EXAMPLE_ROWS)
    .map((row) => `row ${row + 1} has ${JSON.stringify(values[row])?.replace(/^"|"$/g, "'")}`);
  const more = rows.length > MAX_EXAMPLE_ROWS ? ` (and ${rows.length - MAX_EXAMPLE_ROWS} more rows)` : '';
  return `column '${name}' is ${TYPE_WORDING[type]} but ${examples.join(', ')}${more}`;
}

/**
 * A column's values as class labels, in row order, null where missing: categorical and boolean values as they are,
 * numbers in their shortest decimal form ('1', '2.5'), datetimes as ISO strings.
 */
export function columnLabels(table: TypedTable, column: string): (string | null)[] {
  if (Object.hasOwn(table.categorical, column)) return table.categorical[column];
  const numeric = Object.hasOwn(table.numeric, column) ? table.numeric[column] : undefined;
  if (!numeric) throw new RangeError(`column '${column}' is not in the table`);
  const isDatetime = table.schema.columns.find((c) => c.name === column)?.type === 'datetime';
  return Array.from(numeric, (v) => (Number.isNaN(v) ? null : isDatetime ? new Date(v).toISOString() : String(v)));
}

/** The schema entry for a column, or undefined. */
export function findColumn(schema: DatasetSchema, name: string): ColumnSchema | undefined {
  return schema.columns.find((c) => c.name === name);
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}
