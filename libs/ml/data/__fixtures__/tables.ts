/** Test helpers: small tables built in memory, real vega-datasets files, and scratch files on disk. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawTable, RawValue } from '../types';

export const VEGA_DATA = join(__dirname, '..', '..', '..', '..', 'node_modules', 'vega-datasets', 'data');
export const SEATTLE_WEATHER_CSV = join(VEGA_DATA, 'seattle-weather.csv');
export const PENGUINS_JSON = join(VEGA_DATA, 'penguins.json');
export const FLIGHTS_PARQUET_ZSTD = join(VEGA_DATA, 'flights-3m.parquet');
export const FIXTURES = __dirname;

/** A RawTable from row objects; columns in order of first appearance, absent keys are null. */
export function rawTable(rows: Record<string, RawValue>[]): RawTable {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const data: Record<string, RawValue[]> = {};
  for (const name of columns) data[name] = rows.map((row) => (name in row ? row[name] : null));
  return { columns, rowCount: rows.length, data };
}

/** A RawTable from columns of equal length. */
export function rawColumns(columns: Record<string, RawValue[]>): RawTable {
  const names = Object.keys(columns);
  return { columns: names, rowCount: names.length ? columns[names[0]].length : 0, data: { ...columns } };
}

/** A scratch directory, removed by `cleanup`. */
export function scratchDir(): { dir: string; write: (name: string, content: string | Buffer) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mlcycle-data-'));
  return {
    dir,
    write: (name, content) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** vega-datasets ships penguins as one JSON array; the same records as JSON Lines. */
export function penguinsAsJsonLines(): string {
  const records = JSON.parse(readFileSync(PENGUINS_JSON, 'utf8')) as object[];
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
