import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURES,
  FLIGHTS_PARQUET_ZSTD,
  penguinsAsJsonLines,
  scratchDir,
  SEATTLE_WEATHER_CSV,
} from './__fixtures__/tables';
import { DataReadError, detectFormat, readDatasetFile } from './read';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

async function readError(promise: Promise<unknown>): Promise<DataReadError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(DataReadError);
    return err as DataReadError;
  }
  throw new Error('expected a DataReadError, but reading succeeded');
}

describe('detectFormat', () => {
  const bytes = (s: string) => Buffer.from(s, 'utf8');

  it('trusts Parquet magic bytes over the extension', () => {
    expect(detectFormat('upload.csv', bytes('PAR1\x15\x04'))).toBe('parquet');
  });
  it('goes by extension', () => {
    expect(detectFormat('a/b/data.CSV', bytes('x,y\n1,2'))).toBe('csv');
    expect(detectFormat('data.jsonl', bytes('{"a":1}'))).toBe('jsonl');
    expect(detectFormat('data.ndjson', bytes('{"a":1}'))).toBe('jsonl');
    expect(detectFormat('data.parquet', bytes('oops'))).toBe('parquet'); // the reader then reports bad magic
  });
  it('sniffs content when the extension says nothing', () => {
    expect(detectFormat('upload-123', bytes('\uFEFF  {"a": 1}\n'))).toBe('jsonl');
    expect(detectFormat('upload-123', bytes('a,b\n1,2\n'))).toBe('csv');
    expect(detectFormat('data.json', bytes('{"a":1}\n{"a":2}'))).toBe('jsonl');
  });
  it('refuses JSON arrays, gzip and a .json file that is not JSON Lines, saying what to do', () => {
    expect(() => detectFormat('penguins.json', bytes('[\n  {"a": 1}'))).toThrow(/JSON array; convert it to JSON Lines/);
    expect(() => detectFormat('data.csv.gz', Buffer.from([0x1f, 0x8b, 8, 0]))).toThrow(/gzip-compressed/);
    expect(() => detectFormat('data.json', bytes('a,b\n'))).toThrow(/must hold JSON Lines/);
  });
});

describe('readDatasetFile: CSV', () => {
  it('reads seattle-weather.csv (vega-datasets) as strings, column by column', async () => {
    const table = await readDatasetFile(SEATTLE_WEATHER_CSV);
    expect(table.format).toBe('csv');
    expect(table.columns).toEqual(['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
    expect(table.rowCount).toBe(1461);
    expect(table.data.date[0]).toBe('2012-01-01');
    expect(table.data.temp_max[0]).toBe('12.8');
    expect(table.data.weather[table.rowCount - 1]).toBe('sun');
    for (const name of table.columns) expect(table.data[name]).toHaveLength(1461);
  });

  it('handles a BOM, CRLF and mixed line endings, quoted fields with commas, quotes and newlines; empty → null', async () => {
    const path = scratch.write(
      'quoted.csv',
      '\uFEFFid,name,note\r\n1,"Smith, J.","said ""hi"""\r\n2,,"two\r\nlines"\n3,x,\r\n\r\n',
    );
    const table = await readDatasetFile(path);
    expect(table.columns).toEqual(['id', 'name', 'note']); // no BOM glued to 'id'
    expect(table.rowCount).toBe(3);
    expect(table.data.name).toEqual(['Smith, J.', null, 'x']);
    expect(table.data.note).toEqual(['said "hi"', 'two\r\nlines', null]);
    expect(table.data.id).toEqual(['1', '2', '3']);
  });

  it('reports a short row with its line and the expected field count', async () => {
    const lines = ['a,b,c,d,e,f', ...Array.from({ length: 15 }, (_, i) => `${i},1,2,3,4,5`), '9,9,9,9'];
    const err = await readError(readDatasetFile(scratch.write('short.csv', lines.join('\n'))));
    expect(err.message).toBe('line 17: expected 6 fields (as in the header), found 4');
  });

  it('counts the line a row starts on, after multi-line quoted fields and blank lines', async () => {
    const err = await readError(readDatasetFile(scratch.write('multi.csv', 'a,b\n"x\ny",1\n\n1,2,3\n')));
    expect(err.message).toBe('line 5: expected 2 fields (as in the header), found 3');
  });

  it('reports broken quoting with a line number', async () => {
    const err = await readError(readDatasetFile(scratch.write('quote.csv', 'a,b\n1,"2"x\n3,4\n')));
    expect(err.message).toMatch(/^line 2: malformed CSV: Invalid Closing Quote/);
    const unclosed = await readError(readDatasetFile(scratch.write('unclosed.csv', 'a,b\n1,"2\n3,4\n')));
    expect(unclosed.message).toMatch(/^line \d+: malformed CSV: Quote Not Closed/);
  });

  it('rejects an empty file, a blank file, and a header with duplicate or empty names', async () => {
    expect((await readError(readDatasetFile(scratch.write('empty.csv', '')))).message).toMatch(/file is empty$/);
    expect((await readError(readDatasetFile(scratch.write('blank.csv', '\n\r\n')))).message).toMatch(/file is empty \(no header row\)/);
    const header = await readError(readDatasetFile(scratch.write('dup.csv', 'a,b,a,\n1,2,3,4\n')));
    expect(header.message).toBe(
      "line 1: invalid header: column name 'a' appears twice in the header (columns 1 and 3); header column 4 has no name",
    );
    expect(header.problems).toHaveLength(2);
  });

  it('reads a header-only file as zero rows, and stops at maxRows', async () => {
    const headerOnly = await readDatasetFile(scratch.write('header.csv', 'a,b\n'));
    expect(headerOnly).toMatchObject({ columns: ['a', 'b'], rowCount: 0, data: { a: [], b: [] } });
    const firstTen = await readDatasetFile(SEATTLE_WEATHER_CSV, 'csv', { maxRows: 10 });
    expect(firstTen.rowCount).toBe(10);
    expect(firstTen.data.weather).toHaveLength(10);
  });

  it('passes file-system errors through untouched', async () => {
    await expect(readDatasetFile(join(scratch.dir, 'nope.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('readDatasetFile: JSON Lines', () => {
  it('reads penguins (vega-datasets, converted to JSON Lines) keeping numbers as numbers', async () => {
    const table = await readDatasetFile(scratch.write('penguins.jsonl', penguinsAsJsonLines()));
    expect(table.format).toBe('jsonl');
    expect(table.rowCount).toBe(344);
    expect(table.columns).toEqual(['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex']);
    expect(table.data['Beak Length (mm)'][0]).toBe(39.1);
    expect(table.data['Body Mass (g)'][0]).toBe(3750);
    expect(table.data.Sex.filter((v) => v === null)).toHaveLength(10);
  });

  it('unions keys across rows (absent → null), skips blank lines, accepts CRLF and a BOM, stringifies nested values', async () => {
    const path = scratch.write('rows.jsonl', '\uFEFF{"a":1,"b":"x"}\r\n\r\n{"b":"","c":true}\r\n{"a":2.5,"c":null,"d":{"k":[1,2]}}\r\n');
    const table = await readDatasetFile(path);
    expect(table.columns).toEqual(['a', 'b', 'c', 'd']);
    expect(table.rowCount).toBe(3);
    expect(table.data).toEqual({
      a: [1, null, 2.5],
      b: ['x', null, null],
      c: [null, true, null],
      d: [null, null, '{"k":[1,2]}'],
    });
  });

  it('reports invalid JSON and non-object lines with their line number', async () => {
    const bad = await readError(readDatasetFile(scratch.write('bad.jsonl', '{"a":1}\n{"a":2}\n{"a":\n')));
    expect(bad.message).toMatch(/^line 3: invalid JSON \(/);
    const array = await readError(readDatasetFile(scratch.write('array.jsonl', '{"a":1}\n[1,2]\n')));
    expect(array.message).toBe('line 2: expected a JSON object, found an array');
    const scalar = await readError(readDatasetFile(scratch.write('scalar.jsonl', '{"a":1}\n\n42\n'), 'jsonl'));
    expect(scalar.message).toBe('line 3: expected a JSON object, found a number');
  });

  it('rejects a file of blank lines', async () => {
    expect((await readError(readDatasetFile(scratch.write('blank.jsonl', '\n  \n')))).message).toMatch(/file is empty \(no JSON objects\)/);
  });
});

describe('readDatasetFile: Parquet', () => {
  const fixture = (name: string) => join(FIXTURES, name);

  it('reads seattle-weather.parquet to the same values as the CSV, with the DATE column in epoch ms', async () => {
    const [parquet, csv] = await Promise.all([readDatasetFile(fixture('seattle-weather.parquet')), readDatasetFile(SEATTLE_WEATHER_CSV)]);
    expect(parquet.format).toBe('parquet');
    expect(parquet.columns).toEqual(csv.columns);
    expect(parquet.rowCount).toBe(csv.rowCount);
    expect(parquet.typeHints).toEqual({
      date: 'datetime',
      precipitation: 'numeric',
      temp_max: 'numeric',
      temp_min: 'numeric',
      wind: 'numeric',
      weather: 'categorical',
    });
    expect(parquet.data.date[0]).toBe(Date.UTC(2012, 0, 1));
    expect(parquet.data.date[1460]).toBe(Date.UTC(2015, 11, 31));
    for (const name of ['precipitation', 'temp_max', 'temp_min', 'wind']) {
      expect(parquet.data[name]).toEqual(csv.data[name].map((v) => Number(v)));
    }
    expect(parquet.data.weather).toEqual(csv.data.weather);
  });

  it('converts BigInt, timestamps, dates, NaN and empty strings; reads across row groups', async () => {
    const table = await readDatasetFile(fixture('types.parquet'));
    expect(table.rowCount).toBe(5);
    expect(table.data.id).toEqual([1, 2, 3, 4, 9007199254740992]); // 2^53 + 1 rounds to the nearest double
    expect(table.data.ts).toEqual([Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2, 12, 30), null, Date.UTC(1969, 11, 31, 23, 59, 59), Date.UTC(2024, 1, 29, 6)]);
    expect(table.data.day).toEqual([Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2), Date.UTC(2020, 0, 3), null, 0]);
    expect(table.data.flag).toEqual([true, false, null, true, false]);
    expect(table.data.x).toEqual([1.5, null, -2.25, null, 0]);
    expect(table.data.name).toEqual(['a', null, null, 'd', 'e']);
    expect(table.data.small).toEqual([1, 2, 3, 4, 5]);
    expect(table.typeHints).toMatchObject({ ts: 'datetime', day: 'datetime', flag: 'boolean', name: 'categorical', id: 'numeric' });
  });

  it('reads GZIP and BROTLI pages with Node zlib', async () => {
    const snappy = await readDatasetFile(fixture('types.parquet'));
    for (const name of ['types.gzip.parquet', 'types.brotli.parquet']) {
      expect((await readDatasetFile(fixture(name))).data).toEqual(snappy.data);
    }
  });

  it('stops at maxRows', async () => {
    const table = await readDatasetFile(fixture('types.parquet'), 'parquet', { maxRows: 2 });
    expect(table.rowCount).toBe(2);
    expect(table.data.id).toEqual([1, 2]);
  });

  it('reads ZSTD (vega-datasets flights-3m.parquet) and LZ4 Parquet through hyparquet-compressors', async () => {
    const flights = await readDatasetFile(FLIGHTS_PARQUET_ZSTD, 'parquet', { maxRows: 1000 });
    expect(flights.rowCount).toBe(1000);
    expect(flights.columns).toEqual(expect.arrayContaining(['delay', 'distance']));
    expect(flights.data.distance.every((v) => typeof v === 'number')).toBe(true);
    const lz4 = await readDatasetFile(fixture('types.lz4.parquet'));
    const plain = await readDatasetFile(fixture('types.parquet'));
    expect(lz4.data).toEqual(plain.data);
  });

  it('rejects files that are not Parquet or are truncated', async () => {
    const csvNamedParquet = scratch.write('fake.parquet', readFileSync(SEATTLE_WEATHER_CSV));
    expect((await readError(readDatasetFile(csvNamedParquet))).message).toBe(
      "not a Parquet file (bad magic bytes at the start and end: expected 'PAR1')",
    );
    const whole = readFileSync(fixture('types.parquet'));
    const truncated = scratch.write('truncated.parquet', whole.subarray(0, whole.length - 100));
    expect((await readError(readDatasetFile(truncated))).message).toBe(
      "not a Parquet file (bad magic bytes at the end: expected 'PAR1'; the file may be truncated)",
    );
    expect((await readError(readDatasetFile(scratch.write('tiny.parquet', 'PAR1PAR1')))).message).toMatch(/only 8 bytes/);
    // Valid magic at both ends around garbage: the footer cannot be decoded.
    const garbage = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7), Buffer.from([8, 0, 0, 0]), Buffer.from('PAR1')]);
    expect((await readError(readDatasetFile(scratch.write('garbage.parquet', garbage)))).message).toMatch(/^not a readable Parquet file/);
  });
});
