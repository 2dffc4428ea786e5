import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { inferTable, readDatasetFile } from '../../libs/ml/data';
import type { ReadTable } from '../../libs/ml/data';
import type { LoggedRequest } from '../monitoring/window';
import {
  csvField,
  csvRecord,
  keepEarliest,
  labellableRows,
  orderRows,
  projectRow,
  retrainingDataKey,
  shortestFloat32,
  targetOf,
  writeRetrainingCsv,
} from './retraining-data';
import type { LabelledRow, LoggedRow } from './retraining-data';

function req(i: number, over: Partial<LoggedRequest> & { modelId?: string } = {}): LoggedRequest {
  return { ts: `2026-01-02T10:00:${String(i % 60).padStart(2, '0')}.000Z`, requestId: `r${i}`, version: 1, status: 200, latencyMs: 1, rows: 1, inputs: { temp: [i], sky: ['sun'] }, ...over };
}

describe('CSV fields', () => {
  it('writes numbers as numbers, missing as empty, and quotes strings only where RFC 4180 needs it', () => {
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(0)).toBe('0');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(NaN)).toBe('');
    expect(csvField('')).toBe('');
    expect(csvField(true)).toBe('true');
    expect(csvField('rain')).toBe('rain');
    expect(csvField('rain, heavy')).toBe('"rain, heavy"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });

  it('round-trips awkward values through a CSV parser', () => {
    const values = ['a,b', '"quoted"', 'multi\r\nline', 'plain', null, 3.25];
    const text = csvRecord(['c1', 'c2', 'c3', 'c4', 'c5', 'c6']) + csvRecord(values);
    const [header, row] = parse(text, { relax_column_count: false }) as string[][];
    expect(header).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    expect(row).toEqual(['a,b', '"quoted"', 'multi\r\nline', 'plain', '', '3.25']);
  });

  it('recovers the decimal a float32 input was sent as, and leaves other numbers alone', () => {
    expect(shortestFloat32(Math.fround(12.8))).toBe(12.8);
    expect(shortestFloat32(Math.fround(0.1))).toBe(0.1);
    expect(shortestFloat32(Math.fround(-4.7))).toBe(-4.7);
    expect(shortestFloat32(3)).toBe(3);
    expect(shortestFloat32(0.1)).toBe(0.1); // not a float32: a double as logged, kept
    expect(Math.fround(shortestFloat32(Math.fround(1 / 3)))).toBe(Math.fround(1 / 3));
  });

  it('names one key per model and run', () => {
    expect(retrainingDataKey('weather', 'run-1')).toBe('retraining/weather/run-1.csv');
  });
});

describe('labellable rows', () => {
  it('keeps single-row 200s with inputs, of this model only, with float32 values cleaned and missing values null', () => {
    const rows = labellableRows(
      [
        req(1, { inputs: { temp: [Math.fround(12.8)], sky: ['sun'] } }),
        req(2, { rows: 2, inputs: { temp: [1, 2], sky: ['a', 'b'] } }), // two rows: one label cannot say which
        req(3, { status: 500 }),
        req(4, { status: 400, inputs: undefined }),
        req(5, { inputs: undefined }),
        req(6, { modelId: 'other-model' }),
        req(7, { modelId: 'm1', inputs: { temp: [null], sky: [''] } }),
        req(8, { rows: undefined }), // older records without `rows`: the column length says
      ],
      'm1',
    );
    expect(rows.map((r) => r.requestId)).toEqual(['r1', 'r7', 'r8']);
    expect(rows[0].inputs).toEqual({ temp: 12.8, sky: 'sun' });
    expect(rows[1].inputs).toEqual({ temp: null, sky: null });
  });

  it('keeps one row per request ID, the earliest, and the first seen on a tie', () => {
    const into = new Map<string, LoggedRow>();
    const row = (id: string, ts: string, temp: number): LoggedRow => ({ requestId: id, ts, inputs: { temp } });
    keepEarliest(into, [row('a', '2026-01-02T10:00:05Z', 1), row('b', '2026-01-02T10:00:01Z', 2)]);
    keepEarliest(into, [row('a', '2026-01-02T10:00:01Z', 3), row('b', '2026-01-02T10:00:01Z', 4), row('b', '2026-01-02T10:00:09Z', 5)]);
    expect(into.get('a')!.inputs.temp).toBe(3);
    expect(into.get('b')!.inputs.temp).toBe(2);
  });

  it('orders labelled rows by time, then request ID', () => {
    const r = (id: string, ts: string): LabelledRow => ({ requestId: id, ts, inputs: {}, target: 'x' });
    expect(orderRows([r('b', '2026-01-02T10:00:01Z'), r('a', '2026-01-02T10:00:01Z'), r('c', '2026-01-01T00:00:00Z')]).map((x) => x.requestId)).toEqual(['c', 'a', 'b']);
  });

  it('takes the label for classification and the value for regression, converting where it can', () => {
    expect(targetOf({ label: 'Seattle', value: null }, 'binary_classification')).toBe('Seattle');
    expect(targetOf({ label: null, value: 1 }, 'binary_classification')).toBe('1');
    expect(targetOf({ label: null, value: null }, 'multiclass_classification')).toBeNull();
    expect(targetOf({ label: null, value: 21.5 }, 'regression')).toBe(21.5);
    expect(targetOf({ label: '18', value: null }, 'regression')).toBe(18);
    expect(targetOf({ label: 'n/a', value: null }, 'regression')).toBeNull();
  });

  it('projects onto the base columns: the target holds the label, columns the log lacks stay empty, extra inputs are dropped', () => {
    const row: LabelledRow = { requestId: 'r', ts: 't', inputs: { temp: 4.5, sky: 'rain, heavy', unused: 'x' }, target: 'Seattle' };
    expect(projectRow(row, ['location', 'date', 'temp', 'sky'], 'location')).toEqual(['Seattle', null, 4.5, 'rain, heavy']);
  });
});

describe('writeRetrainingCsv', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retraining-data-spec-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const base: ReadTable = {
    columns: ['location', 'date', 'temp', 'sky'],
    rowCount: 2,
    data: { location: ['Seattle', 'New York'], date: ['2012-01-01', '2012-01-02'], temp: ['12.8', null], sky: ['drizzle', 'sun, then "rain"'] },
    format: 'csv',
    typeHints: {},
  };
  const labelled: LabelledRow[] = [
    { requestId: 'r1', ts: '2026-01-02T10:00:00Z', inputs: { temp: 30.5, sky: 'hail' }, target: 'New York' },
    { requestId: 'r2', ts: '2026-01-02T10:00:01Z', inputs: { temp: null, sky: 'a,b' }, target: 'Seattle' },
  ];

  it('writes the base rows and then the labelled rows, reads back through the pipeline reader, and hashes what it wrote', async () => {
    const file = path.join(dir, 'out.csv');
    const sha = await writeRetrainingCsv(file, base, labelled, 'location');
    const bytes = fs.readFileSync(file);
    expect(sha).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.toString('utf8')).toBe(
      ['location,date,temp,sky', 'Seattle,2012-01-01,12.8,drizzle', 'New York,2012-01-02,,"sun, then ""rain"""', 'New York,,30.5,hail', 'Seattle,,,"a,b"', ''].join('\n'),
    );
    const raw = await readDatasetFile(file, 'csv');
    expect(raw.rowCount).toBe(4);
    expect(raw.data.sky).toEqual(['drizzle', 'sun, then "rain"', 'hail', 'a,b']);
    const typed = inferTable(raw);
    expect(Array.from(typed.numeric.temp)).toEqual([12.8, NaN, 30.5, NaN]);
    expect(typed.categorical.location).toEqual(['Seattle', 'New York', 'New York', 'Seattle']);
    // Same data, same bytes.
    expect(await writeRetrainingCsv(path.join(dir, 'again.csv'), base, labelled, 'location')).toBe(sha);
  });

  it('writes Parquet datetimes (epoch milliseconds) as ISO text and keeps JSON numbers as numbers', async () => {
    const parquetLike: ReadTable = {
      columns: ['y', 'when', 'x'],
      rowCount: 1,
      data: { y: [2.5], when: [Date.UTC(2012, 0, 1)], x: [7] },
      format: 'parquet',
      typeHints: { when: 'datetime' },
    };
    const file = path.join(dir, 'pq.csv');
    await writeRetrainingCsv(file, parquetLike, [{ requestId: 'r', ts: 't', inputs: { x: 8 }, target: 3.5 }], 'y');
    expect(fs.readFileSync(file, 'utf8')).toBe('y,when,x\n2.5,2012-01-01T00:00:00.000Z,7\n3.5,,8\n');
  });
});
