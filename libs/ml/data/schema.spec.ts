import { join } from 'node:path';
import { FIXTURES, penguinsAsJsonLines, rawColumns, rawTable, scratchDir, SEATTLE_WEATHER_CSV } from './__fixtures__/tables';
import { DataReadError } from './errors';
import { readDatasetFile } from './read';
import { coerceToSchema, columnLabels, inferColumnType, inferTable, isMissing, parseDatetime, parseNumber } from './schema';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

function thrown(fn: () => unknown): DataReadError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataReadError);
    return err as DataReadError;
  }
  throw new Error('expected a DataReadError');
}

describe('missing values', () => {
  it.each(['', 'NA', 'N/A', 'null', 'NaN', 'na', ' n/a ', 'NULL', 'nan'])('%j is missing', (token) => {
    expect(isMissing(token)).toBe(true);
  });
  it.each(['None', '-', '?', '0', 'false', 'NAN_CODE', 'not applicable'])('%j is a value', (token) => {
    expect(isMissing(token)).toBe(false);
  });
  it('treats null and NaN as missing, booleans and numbers as values', () => {
    expect(isMissing(null)).toBe(true);
    expect(isMissing(Number.NaN)).toBe(true);
    expect(isMissing(0)).toBe(false);
    expect(isMissing(false)).toBe(false);
  });
});

describe('parseNumber', () => {
  it('reads decimal numbers, with spaces around them', () => {
    expect(parseNumber(' 12 ')).toBe(12);
    expect(parseNumber('-3.5')).toBe(-3.5);
    expect(parseNumber('.5')).toBe(0.5);
    expect(parseNumber('5.')).toBe(5);
    expect(parseNumber('1e-3')).toBe(0.001);
    expect(parseNumber(7)).toBe(7);
  });
  it('refuses hex, thousands separators, infinities and text', () => {
    for (const text of ['0x10', '1,000', 'Infinity', '-Infinity', '12abc', 'abc', '1 2', '--1']) expect(parseNumber(text)).toBeUndefined();
    expect(parseNumber(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(parseNumber(true)).toBeUndefined();
  });
});

describe('parseDatetime', () => {
  it('reads ISO dates and timestamps; no zone means UTC', () => {
    expect(parseDatetime('2012-01-01')).toBe(Date.UTC(2012, 0, 1));
    expect(parseDatetime('2012-01-01T00:00:00Z')).toBe(Date.UTC(2012, 0, 1));
    expect(parseDatetime('2012-01-01T08:30')).toBe(Date.UTC(2012, 0, 1, 8, 30));
    expect(parseDatetime('2012-01-01 08:30:15.250')).toBe(Date.UTC(2012, 0, 1, 8, 30, 15, 250));
    expect(parseDatetime('2012-01-01T08:30:00+02:00')).toBe(Date.UTC(2012, 0, 1, 6, 30));
    expect(parseDatetime('2012-01-01T08:30:00-0530')).toBe(Date.UTC(2012, 0, 1, 14, 0));
    expect(parseDatetime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseDatetime('0099-01-01')).toBe(Date.parse('0099-01-01T00:00:00Z')); // year 99, not 1999
    expect(parseDatetime('2012-06-30T23:59:59.9999')).toBe(Date.UTC(2012, 5, 30, 23, 59, 59, 999));
  });
  it('refuses impossible dates and other formats', () => {
    for (const text of ['2023-02-29', '2012-13-01', '2012-04-31', '2012-01-01T24:00', '01/02/2012', '2012-1-1', '20120101', '2012-01-01Z']) {
      expect(parseDatetime(text)).toBeUndefined();
    }
  });
});

describe('inferColumnType', () => {
  it('finds booleans only among true/false', () => {
    expect(inferColumnType(['true', 'FALSE', 'True', null, ''])).toBe('boolean');
    expect(inferColumnType([true, false, null])).toBe('boolean');
    expect(inferColumnType(['yes', 'no'])).toBe('categorical');
    expect(inferColumnType(['0', '1', '1'])).toBe('numeric');
  });
  it('finds numbers among strings and numbers, ignoring missing tokens', () => {
    expect(inferColumnType(['1', '2.5', 'NA', ' 3 ', 4])).toBe('numeric');
    expect(inferColumnType(['1', '2', 'abc'])).toBe('categorical');
    expect(inferColumnType([1, true])).toBe('categorical');
  });
  it('finds ISO datetimes', () => {
    expect(inferColumnType(['2012-01-01', '2012-01-02T10:00:00Z', null])).toBe('datetime');
    expect(inferColumnType(['2012-01-01', 'tomorrow'])).toBe('categorical');
  });
  it('calls a column with no values categorical', () => {
    expect(inferColumnType([null, '', 'NA'])).toBe('categorical');
    expect(inferColumnType([])).toBe('categorical');
  });
});

describe('inferTable', () => {
  it('types seattle-weather.csv: date is datetime, measurements numeric, weather categorical', async () => {
    const table = inferTable(await readDatasetFile(SEATTLE_WEATHER_CSV));
    expect(table.schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['date', 'datetime'],
      ['precipitation', 'numeric'],
      ['temp_max', 'numeric'],
      ['temp_min', 'numeric'],
      ['wind', 'numeric'],
      ['weather', 'categorical'],
    ]);
    expect(table.numeric.date[0]).toBe(Date.UTC(2012, 0, 1));
    expect(table.numeric.temp_max[0]).toBe(12.8);
    expect(table.numeric.temp_max).toBeInstanceOf(Float64Array);
    expect(table.categorical.weather[0]).toBe('drizzle');
    expect(table.schema.columns.every((c) => c.missingRate === 0)).toBe(true);
  });

  it('types penguins (JSON Lines) with missing rates', async () => {
    const table = inferTable(await readDatasetFile(scratch.write('penguins.jsonl', penguinsAsJsonLines())));
    const byName = Object.fromEntries(table.schema.columns.map((c) => [c.name, c]));
    expect(byName.Species).toEqual({ name: 'Species', type: 'categorical', missingRate: 0 });
    expect(byName['Body Mass (g)']).toEqual({ name: 'Body Mass (g)', type: 'numeric', missingRate: 2 / 344 });
    expect(byName.Sex).toEqual({ name: 'Sex', type: 'categorical', missingRate: 10 / 344 });
    expect(Number.isNaN(table.numeric['Body Mass (g)'][3])).toBe(true); // the 4th penguin has no measurements
  });

  it('uses the types a Parquet file declares (its DATE column arrives as numbers)', async () => {
    const table = inferTable(await readDatasetFile(join(FIXTURES, 'seattle-weather.parquet')));
    expect(table.schema.columns[0]).toEqual({ name: 'date', type: 'datetime', missingRate: 0 });
    expect(table.numeric.date[0]).toBe(Date.UTC(2012, 0, 1));
    const types = inferTable(await readDatasetFile(join(FIXTURES, 'types.parquet')));
    expect(types.categorical.flag).toEqual(['true', 'false', null, 'true', 'false']);
    expect(types.schema.columns.find((c) => c.name === 'x')).toEqual({ name: 'x', type: 'numeric', missingRate: 0.4 });
  });

  it('stores booleans as "true"/"false" and numbers in categorical columns as text', () => {
    const table = inferTable(rawColumns({ flag: ['TRUE', 'false', null], code: [1, 'x', 2.5] }));
    expect(table.categorical.flag).toEqual(['true', 'false', null]);
    expect(table.categorical.code).toEqual(['1', 'x', '2.5']);
    expect(table.schema.columns.map((c) => c.type)).toEqual(['boolean', 'categorical']);
  });

  it('applies hints: a numeric code as a category, yes/no as boolean', () => {
    const table = inferTable(rawColumns({ zip: ['98101', '98102', null], member: ['yes', 'No', 'y'] }), { zip: 'categorical', member: 'boolean' });
    expect(table.categorical.zip).toEqual(['98101', '98102', null]);
    expect(table.categorical.member).toEqual(['true', 'false', 'true']);
    expect(table.schema.columns[0]).toEqual({ name: 'zip', type: 'categorical', missingRate: 1 / 3 });
  });

  it('rejects hints for unknown columns and hinted values that do not fit', () => {
    expect(thrown(() => inferTable(rawColumns({ a: ['1'] }), { b: 'numeric' })).message).toBe(
      "type hints name a column not in the data: 'b'; columns are: 'a'",
    );
    expect(thrown(() => inferTable(rawColumns({ a: ['1', 'x'] }), { a: 'numeric' })).message).toBe(
      "column 'a' is numeric but row 2 has 'x'",
    );
  });

  it('copes with columns named like Object.prototype members', async () => {
    const path = scratch.write('proto.csv', 'constructor,__proto__,toString\n1,a,x\n2,b,y\n');
    const table = inferTable(await readDatasetFile(path));
    expect(table.schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['constructor', 'numeric'],
      ['__proto__', 'categorical'],
      ['toString', 'categorical'],
    ]);
    expect(Array.from(table.numeric['constructor'] as Float64Array)).toEqual([1, 2]);
    expect(columnLabels(table, '__proto__')).toEqual(['a', 'b']);
    expect(columnLabels(table, 'toString')).toEqual(['x', 'y']);
  });

  it('handles an empty table', () => {
    const table = inferTable({ columns: ['a'], rowCount: 0, data: { a: [] } });
    expect(table).toEqual({ schema: { columns: [{ name: 'a', type: 'categorical', missingRate: 0 }] }, rowCount: 0, numeric: {}, categorical: { a: [] } });
  });
});

describe('coerceToSchema', () => {
  const schema = {
    columns: [
      { name: 'day', type: 'datetime' as const, missingRate: 0 },
      { name: 'temp_max', type: 'numeric' as const, missingRate: 0 },
      { name: 'rained', type: 'boolean' as const, missingRate: 0 },
      { name: 'weather', type: 'categorical' as const, missingRate: 0 },
    ],
  };

  it('forces the schema: its columns and order, extra columns dropped, missing rates recomputed', () => {
    const raw = rawTable([
      { weather: 'sun', temp_max: '12.5', extra: 'x', day: '2012-01-01', rained: 'no' },
      { weather: '7', temp_max: 'NA', extra: 'y', day: '2012-01-02T06:00:00Z', rained: '1' },
    ]);
    const table = coerceToSchema(raw, schema);
    expect(table.schema.columns).toEqual([
      { name: 'day', type: 'datetime', missingRate: 0 },
      { name: 'temp_max', type: 'numeric', missingRate: 0.5 },
      { name: 'rained', type: 'boolean', missingRate: 0 },
      { name: 'weather', type: 'categorical', missingRate: 0 },
    ]);
    expect(Array.from(table.numeric.day)).toEqual([Date.UTC(2012, 0, 1), Date.UTC(2012, 0, 2, 6)]);
    expect(table.categorical.weather).toEqual(['sun', '7']); // a number is a fine category
    expect(table.categorical.rained).toEqual(['false', 'true']);
    expect(table.numeric.extra).toBeUndefined();
    expect(table.categorical.extra).toBeUndefined();
  });

  it('lists text in a numeric column with row numbers, for every offending column', () => {
    const temps = Array.from({ length: 20 }, (_, i) => String(i));
    temps[11] = 'abc';
    const raw = rawColumns({
      day: Array.from({ length: 20 }, () => '2012-01-01'),
      temp_max: temps,
      rained: Array.from({ length: 20 }, (_, i) => (i === 3 ? 'maybe' : 'true')),
      weather: Array.from({ length: 20 }, () => 'sun'),
    });
    const err = thrown(() => coerceToSchema(raw, schema));
    expect(err.problems).toEqual(["column 'temp_max' is numeric but row 12 has 'abc'", "column 'rained' is boolean but row 4 has 'maybe'"]);
    expect(err.message).toBe("column 'temp_max' is numeric but row 12 has 'abc'; column 'rained' is boolean but row 4 has 'maybe'");
  });

  it('shows at most five examples per column and counts the rest', () => {
    const raw = rawColumns({ x: ['a', 'b', 'c', 'd', 'e', 'f', 'g', '1'] });
    expect(thrown(() => coerceToSchema(raw, { columns: [{ name: 'x', type: 'numeric', missingRate: 0 }] })).message).toBe(
      "column 'x' is numeric but row 1 has 'a', row 2 has 'b', row 3 has 'c', row 4 has 'd', row 5 has 'e' (and 2 more rows)",
    );
  });

  it('names missing columns and the columns it found', () => {
    const raw = rawColumns({ day: ['2012-01-01'], weather: ['sun'] });
    expect(thrown(() => coerceToSchema(raw, schema)).message).toBe(
      "data is missing columns 'temp_max', 'rained' required by the schema; columns found: 'day', 'weather'",
    );
  });

  it('refuses non-ISO text in a datetime column', () => {
    const raw = rawColumns({ day: ['01/02/2012'] });
    expect(thrown(() => coerceToSchema(raw, { columns: [{ name: 'day', type: 'datetime', missingRate: 0 }] })).message).toBe(
      "column 'day' is a datetime column (ISO 8601 dates) but row 1 has '01/02/2012'",
    );
  });

  it('reads a later snapshot of seattle-weather with the schema inferred from the first', async () => {
    const raw = await readDatasetFile(SEATTLE_WEATHER_CSV);
    const first = inferTable(raw);
    const again = coerceToSchema(raw, first.schema);
    expect(again.schema).toEqual(first.schema);
    expect(again.numeric.wind).toEqual(first.numeric.wind);
  });
});

describe('columnLabels', () => {
  it('gives categorical values as they are and numbers as short decimal text', () => {
    const table = inferTable(rawColumns({ y: ['1', '2.50', null], c: ['a', null, 'b'] }));
    expect(columnLabels(table, 'y')).toEqual(['1', '2.5', null]);
    expect(columnLabels(table, 'c')).toEqual(['a', null, 'b']);
    expect(() => columnLabels(table, 'nope')).toThrow("column 'nope' is not in the table");
  });
});
