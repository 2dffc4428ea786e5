import { decodeInferRequest, encodeInferResponse, flattenTensorData, modelMetadata, OipError, splitBinaryBody } from './oip';
import { modelSignature, SignatureError } from './signature';
import type { ModelSignature } from './signature';

const signature: ModelSignature = modelSignature(
  {
    task: 'multiclass_classification',
    classes: ['rain', 'sun', 'snow'],
    features: [
      { name: 'temp', kind: 'numeric' },
      { name: 'wind', kind: 'numeric' },
      { name: 'city', kind: 'categorical' },
    ],
  },
  {
    inputs: [
      { name: 'temp', type: 'float32', shape: ['N', 1] },
      { name: 'wind', type: 'float32', shape: ['N', 1] },
      { name: 'city', type: 'string', shape: ['N', 1] },
    ],
    outputs: [
      { name: 'label', type: 'string', shape: ['N'] },
      { name: 'probabilities', type: 'float32', shape: ['N', 3] },
    ],
  },
);

const limits = { maxRows: 1000 };

function body(overrides: Record<string, unknown> = {}, inputs = goodInputs()) {
  return { inputs, ...overrides };
}

function goodInputs() {
  return [
    { name: 'temp', shape: [2, 1], datatype: 'FP32', data: [12.5, null] },
    { name: 'wind', shape: [2, 1], datatype: 'FP32', data: [[3], [4]] },
    { name: 'city', shape: [2, 1], datatype: 'BYTES', data: ['Seattle', null] },
  ];
}

function decodeError(b: unknown, binary?: Uint8Array): OipError {
  try {
    decodeInferRequest(b, binary, signature, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(OipError);
    return err as OipError;
  }
  throw new Error('expected an OipError');
}

describe('modelSignature', () => {
  it('maps features to FP32/BYTES [-1,1] inputs and the contract outputs', () => {
    expect(signature.inputs).toEqual([
      { name: 'temp', datatype: 'FP32', shape: [-1, 1] },
      { name: 'wind', datatype: 'FP32', shape: [-1, 1] },
      { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
    ]);
    expect(signature.outputs).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ]);
    expect(modelMetadata('m', [2], signature)).toMatchObject({ name: 'm', versions: ['2'], platform: 'onnxruntime_onnx' });
  });

  it('refuses a model whose session disagrees with its metadata', () => {
    expect(() =>
      modelSignature(
        { task: 'regression', features: [{ name: 'temp', kind: 'categorical' }] },
        { inputs: [{ name: 'temp', type: 'float32', shape: ['N', 1] }, { name: 'extra', type: 'float32', shape: ['N', 1] }], outputs: [{ name: 'y', type: 'float32', shape: ['N', 1] }] },
      ),
    ).toThrow(SignatureError);
    const err = (() => {
      try {
        modelSignature({ task: 'regression', features: [{ name: 'temp', kind: 'categorical' }] }, { inputs: [{ name: 'temp', type: 'float32', shape: [] }], outputs: [] });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).toMatch(/input 'temp' is float32; a categorical feature needs string/);
    expect(err).toMatch(/a regressor must output 'variable'/);
  });
});

describe('decodeInferRequest', () => {
  it('decodes flat and nested data into one column per input; null is a missing value', () => {
    const decoded = decodeInferRequest(body({ id: 'r1' }), undefined, signature, limits);
    expect(decoded.id).toBe('r1');
    expect(decoded.rows).toBe(2);
    expect(Array.from(decoded.columns.temp as Float32Array)).toEqual([12.5, NaN]);
    expect(Array.from(decoded.columns.wind as Float32Array)).toEqual([3, 4]);
    expect(decoded.columns.city).toEqual(['Seattle', '']);
    expect(decoded.outputs).toEqual([
      { name: 'label', binary: false },
      { name: 'probabilities', binary: false },
    ]);
  });

  it('honours requested outputs and binary_data flags', () => {
    expect(decodeInferRequest(body({ outputs: [{ name: 'probabilities' }] }), undefined, signature, limits).outputs).toEqual([{ name: 'probabilities', binary: false }]);
    expect(decodeInferRequest(body({ parameters: { binary_data_output: true } }), undefined, signature, limits).outputs.every((o) => o.binary)).toBe(true);
    expect(
      decodeInferRequest(body({ parameters: { binary_data_output: true }, outputs: [{ name: 'label', parameters: { binary_data: false } }] }), undefined, signature, limits).outputs,
    ).toEqual([{ name: 'label', binary: false }]);
  });

  it('names unknown inputs with the model’s inputs', () => {
    expect(decodeError(body({}, [...goodInputs(), { name: 'humidity', shape: [2, 1], datatype: 'FP32', data: [1, 2] }])).message).toBe(
      "unknown input 'humidity'; the model's inputs are 'temp', 'wind', 'city'",
    );
  });

  it('lists every missing input with its datatype', () => {
    expect(decodeError(body({}, goodInputs().slice(0, 1))).message).toBe("missing inputs 'wind' (FP32 [N, 1]), 'city' (BYTES [N, 1])");
  });

  it('refuses wrong datatypes and wrong element types', () => {
    const inputs = goodInputs();
    inputs[0].datatype = 'INT64';
    expect(decodeError(body({}, inputs)).message).toBe("input 'temp' has datatype INT64; the model expects FP32");
    const strings = goodInputs();
    strings[0].data = ['12', null];
    expect(decodeError(body({}, strings)).message).toMatch(/input 'temp' is FP32 but element 0 is "12"/);
    const numbers = goodInputs();
    numbers[2].data = [1, 2];
    expect(decodeError(body({}, numbers)).message).toMatch(/input 'city' is BYTES but element 0 is 1/);
    const nonsense = goodInputs();
    nonsense[1].datatype = 'FLOAT';
    expect(decodeError(body({}, nonsense)).message).toBe("input 'wind' has datatype \"FLOAT\"; expected FP32");
  });

  it('refuses shapes that are not [N,1], disagree between inputs, or do not match the data', () => {
    const wide = goodInputs();
    wide[0].shape = [1, 2];
    expect(decodeError(body({}, wide)).message).toBe("input 'temp' has shape [1, 2]; the model expects [N, 1] (one column, N rows)");
    const rank1 = goodInputs();
    rank1[0].shape = [2];
    expect(decodeError(body({}, rank1)).message).toMatch(/has shape \[2\]/);
    const rows = goodInputs();
    rows[1] = { ...rows[1], shape: [3, 1], data: [1, 2, 3] };
    expect(decodeError(body({}, rows)).message).toBe("input 'wind' has 3 rows but 'temp' has 2; every input needs the same number of rows");
    const count = goodInputs();
    count[0].data = [1, 2, 3];
    expect(decodeError(body({}, count)).message).toBe("input 'temp' has 3 elements but shape [2, 1] needs 2");
    const nested = goodInputs();
    nested[1].data = [[3, 4], [5]];
    expect(decodeError(body({}, nested)).message).toMatch(/input 'wind': data\[0\] should be an array of 1 to match shape \[2, 1\], got 2 elements/);
    const mixed = goodInputs();
    mixed[1].data = [3, [4]] as unknown as number[];
    expect(decodeError(body({}, mixed)).message).toBe("input 'wind' is FP32 but element 1 is [4]; send numbers (null for a missing value)");
    const empty = goodInputs().map((i) => ({ ...i, shape: [0, 1], data: [] }));
    expect(decodeError(body({}, empty)).message).toMatch(/at least one row/);
  });

  it('enforces the row limit with 413', () => {
    const inputs = goodInputs().map((i) => ({ ...i, shape: [1001, 1], data: new Array(1001).fill(i.datatype === 'FP32' ? 1 : 'x') }));
    const err = decodeError(body({}, inputs));
    expect(err.status).toBe(413);
  });

  it('refuses malformed bodies, duplicate inputs and unknown outputs', () => {
    expect(decodeError(null).message).toMatch(/JSON object/);
    expect(decodeError({ inputs: [] }).message).toMatch(/non-empty array/);
    expect(decodeError({ inputs: [{ shape: [1, 1] }] }).message).toBe("inputs[0] has no 'name'");
    expect(decodeError(body({}, [...goodInputs(), goodInputs()[0]])).message).toBe("input 'temp' appears more than once");
    expect(decodeError(body({ outputs: [{ name: 'logits' }] })).message).toBe("unknown output 'logits'; the model's outputs are 'label', 'probabilities'");
    expect(decodeError(body({ id: 7 })).message).toBe("'id' must be a string");
    const shm = goodInputs() as Record<string, unknown>[];
    shm[0] = { ...shm[0], parameters: { shared_memory_region: 'r' } };
    expect(decodeError(body({}, shm as never)).message).toMatch(/shared-memory inputs are not supported/);
  });
});

describe('the binary tensor extension', () => {
  function binaryRequest(): { raw: Buffer; headerLength: number } {
    const temp = Buffer.alloc(8);
    temp.writeFloatLE(1.5, 0);
    temp.writeFloatLE(-2, 4);
    const wind = Buffer.alloc(8);
    wind.writeFloatLE(3, 0);
    wind.writeFloatLE(NaN, 4);
    const city = Buffer.concat([Buffer.from([7, 0, 0, 0]), Buffer.from('Seattle'), Buffer.from([0, 0, 0, 0])]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'temp', shape: [2, 1], datatype: 'FP32', parameters: { binary_data_size: 8 } },
          { name: 'wind', shape: [2, 1], datatype: 'FP32', parameters: { binary_data_size: 8 } },
          { name: 'city', shape: [2, 1], datatype: 'BYTES', parameters: { binary_data_size: city.length } },
        ],
        outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }],
      }),
    );
    return { raw: Buffer.concat([header, temp, wind, city]), headerLength: header.length };
  }

  it('reads inputs from the binary section in order', () => {
    const { raw, headerLength } = binaryRequest();
    const { header, binary } = splitBinaryBody(raw, headerLength);
    const decoded = decodeInferRequest(header, binary, signature, limits);
    expect(Array.from(decoded.columns.temp as Float32Array)).toEqual([1.5, -2]);
    expect(Array.from(decoded.columns.wind as Float32Array)).toEqual([3, NaN]);
    expect(decoded.columns.city).toEqual(['Seattle', '']);
    expect(decoded.outputs).toEqual([
      { name: 'label', binary: true },
      { name: 'probabilities', binary: false },
    ]);
  });

  it('refuses sizes that do not add up', () => {
    const { raw, headerLength } = binaryRequest();
    const { header, binary } = splitBinaryBody(Buffer.concat([raw, Buffer.from([1])]), headerLength);
    expect(() => decodeInferRequest(header, binary, signature, limits)).toThrow(/1 bytes that no input's binary_data_size accounts for/);
    expect(() => splitBinaryBody(raw, raw.length + 1)).toThrow(/Inference-Header-Content-Length/);
    const { header: h2 } = splitBinaryBody(raw, headerLength);
    expect(() => decodeInferRequest(h2, undefined, signature, limits)).toThrow(/no binary section/);
  });

  it('writes requested outputs to a binary section, the rest as JSON', () => {
    const encoded = encodeInferResponse({
      modelName: 'm',
      modelVersion: 3,
      id: 'x',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [2], data: ['sun', 'rain'] },
        { name: 'probabilities', datatype: 'FP32', shape: [2, 3], data: Float32Array.of(0.25, 0.5, 0.25, 1, 0, NaN) },
      ],
      requested: [
        { name: 'label', binary: true },
        { name: 'probabilities', binary: false },
      ],
    });
    expect(encoded.contentType).toBe('application/octet-stream');
    const header = JSON.parse(encoded.body.subarray(0, encoded.headerLength).toString());
    expect(header).toEqual({
      model_name: 'm',
      model_version: '3',
      id: 'x',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 15 } },
        { name: 'probabilities', datatype: 'FP32', shape: [2, 3], data: [0.25, 0.5, 0.25, 1, 0, null] },
      ],
    });
    const bin = encoded.body.subarray(encoded.headerLength!);
    expect(bin.readUInt32LE(0)).toBe(3);
    expect(bin.subarray(4, 7).toString()).toBe('sun');
    expect(bin.readUInt32LE(7)).toBe(4);
    expect(bin.subarray(11, 15).toString()).toBe('rain');
  });

  it('answers plain JSON when nothing is binary', () => {
    const encoded = encodeInferResponse({
      modelName: 'm',
      modelVersion: 1,
      outputs: [{ name: 'variable', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(2.5) }],
      requested: [{ name: 'variable', binary: false }],
    });
    expect(encoded.headerLength).toBeUndefined();
    expect(JSON.parse(encoded.body.toString())).toEqual({ model_name: 'm', model_version: '1', outputs: [{ name: 'variable', datatype: 'FP32', shape: [1, 1], data: [2.5] }] });
  });

  it('writes exactly the JSON that JSON.stringify writes for the same answer, escapes and odd numbers included', () => {
    const probabilities = Float32Array.of(0.1, -0, 1e-7, 3.4e38, -2.5, NaN, Infinity, -Infinity, 16777217);
    const labels = ['sun', 'say "hi"\\', 'ünïcödé ☀', '', 'line\nbreak'];
    const encoded = encodeInferResponse({
      modelName: 'weather-"2"',
      modelVersion: 12,
      id: 'req\u0001<id>',
      parameters: { request_id: 'r-1', sampled: true, rows: 5 },
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [5], data: labels },
        { name: 'probabilities', datatype: 'FP32', shape: [3, 3], data: probabilities },
        { name: 'empty', datatype: 'FP32', shape: [0, 2], data: new Float32Array(0) },
      ],
      requested: [
        { name: 'probabilities', binary: false },
        { name: 'label', binary: false },
        { name: 'empty', binary: false },
      ],
    });
    const expected = JSON.stringify({
      model_name: 'weather-"2"',
      model_version: '12',
      id: 'req\u0001<id>',
      parameters: { request_id: 'r-1', sampled: true, rows: 5 },
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [3, 3], data: Array.from(probabilities, (v) => (Number.isFinite(v) ? v : null)) },
        { name: 'label', datatype: 'BYTES', shape: [5], data: labels },
        { name: 'empty', datatype: 'FP32', shape: [0, 2], data: [] },
      ],
    });
    expect(encoded.body.toString('utf8')).toBe(expected);
    expect(() =>
      encodeInferResponse({ modelName: 'm', modelVersion: 1, outputs: [], requested: [{ name: 'missing', binary: false }] }),
    ).toThrow(/returned no output 'missing'/);
  });
});

describe('flattenTensorData', () => {
  it('accepts flat or fully nested row-major data', () => {
    expect(flattenTensorData('x', [1, 2, 3, 4, 5, 6], [2, 3])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(flattenTensorData('x', [[1, 2, 3], [4, 5, 6]], [2, 3])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => flattenTensorData('x', [[[1]], [[2]]], [2, 1])).toThrow(/nested deeper/);
    expect(() => flattenTensorData('x', 'abc', [1, 1])).toThrow(/must be an array/);
  });
});
