import { decodeRecords, predictionsFromOutputs, RecordsError } from './records';
import { modelSignature } from './signature';

const features = [
  { name: 'temp', kind: 'numeric' as const },
  { name: 'city', kind: 'categorical' as const },
];

function fail(body: unknown, maxRows = 100): RecordsError {
  try {
    decodeRecords(body, features, maxRows);
  } catch (err) {
    expect(err).toBeInstanceOf(RecordsError);
    return err as RecordsError;
  }
  throw new Error('expected a RecordsError');
}

describe('decodeRecords', () => {
  it('turns records into columns; null, empty strings and absent values are missing values', () => {
    const { rows, columns } = decodeRecords(
      {
        records: [
          { temp: 12.5, city: 'Seattle' },
          { temp: null, city: null },
          { temp: '7', city: 42 },
          { temp: '', city: true },
        ],
      },
      features,
      100,
    );
    expect(rows).toBe(4);
    expect(Array.from(columns.temp as Float32Array)).toEqual([12.5, NaN, 7, NaN]);
    expect(columns.city).toEqual(['Seattle', '', '42', 'true']);
  });

  it('names unknown and missing columns together, with how many records lack each', () => {
    const err = fail({ records: [{ temp: 1, humidity: 3 }, { temp: 2, city: 'x', date: 'today' }] });
    expect(err.message).toBe(
      "unknown columns 'humidity', 'date'; missing column 'city' (in 1 of 2 records); the model's columns are 'temp', 'city' (null for a missing value)",
    );
    expect(err.problems).toEqual([
      { path: 'humidity', message: 'not a column of this model' },
      { path: 'date', message: 'not a column of this model' },
      { path: 'city', message: 'missing' },
    ]);
  });

  it('points at bad values by record and column', () => {
    const err = fail({ records: [{ temp: 'warm', city: 'x' }, { temp: 1, city: { nested: true } }] });
    expect(err.message).toBe('records[0].temp must be a number or null, got "warm" (and 1 more, see details)');
    expect(err.problems[1]).toEqual({ path: 'records[1].city', message: 'must be a string, number, boolean or null, got {"nested":true}' });
  });

  it('refuses bodies that are not {records: [...]}', () => {
    expect(fail([]).message).toMatch(/send a JSON object/);
    expect(fail({ records: [] }).message).toMatch(/non-empty array/);
    expect(fail({ records: [1] }).message).toBe('records[0] must be an object of column → value');
    expect(fail({ records: [{ temp: 1, city: 'x' }], extra: 1 }).message).toBe(`unknown field 'extra'; the body has only "records"`);
    expect(fail({ records: [{}, {}, {}] }, 2).status).toBe(413);
  });
});

describe('predictionsFromOutputs', () => {
  const io = (outputs: { name: string; type: string }[]) => ({ inputs: [{ name: 'temp', type: 'float32', shape: [] }], outputs: outputs.map((o) => ({ ...o, shape: [] })) });

  it('gives a label and per-class probabilities for classifiers', () => {
    const sig = modelSignature(
      { task: 'binary_classification', classes: ['no', 'yes'], features: [{ name: 'temp', kind: 'numeric' }] },
      io([
        { name: 'label', type: 'string' },
        { name: 'probabilities', type: 'float32' },
      ]),
    );
    expect(predictionsFromOutputs(sig, 2, { label: ['yes', 'no'], probabilities: Float32Array.of(0.25, 0.75, 0.5, 0.5) })).toEqual([
      { label: 'yes', probabilities: { no: 0.25, yes: 0.75 } },
      { label: 'no', probabilities: { no: 0.5, yes: 0.5 } },
    ]);
  });

  it('gives a value for regressors (null when not finite)', () => {
    const sig = modelSignature({ task: 'regression', features: [{ name: 'temp', kind: 'numeric' }] }, io([{ name: 'variable', type: 'float32' }]));
    expect(predictionsFromOutputs(sig, 2, { variable: Float32Array.of(1.5, NaN) })).toEqual([{ value: 1.5 }, { value: null }]);
  });
});
