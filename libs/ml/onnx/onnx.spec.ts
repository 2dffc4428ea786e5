import type { FeatureColumn, TypedTable } from '../data/types';
import { addFeatureInputs, mlcycleMetadataProps, OnnxContractError, readMlcycleMetadata } from './contract';
import { emitRegressionHead, emitSoftmaxClassifierHead } from './heads';
import { attr, encodeModel, GraphBuilder, readOnnxHeader, setOnnxMetadata } from './model';
import { float32Tensor, ort, stringTensor } from './ort';
import { decodeFields, ProtoWriter } from './proto';
import { contractProblems, createOnnxSession, createSyncOnnxSession, inspectOnnx, runOnnxModel } from './runner';

const FEATURES: FeatureColumn[] = [
  { name: 'size', kind: 'numeric' },
  { name: 'colour', kind: 'categorical' },
];

/** logits = [size, onehot(colour)·[2,-2]] → softmax over classes ['a','b']; regression: size*3 + 1 */
function handModel(kind: 'classifier' | 'regressor'): Uint8Array {
  const g = new GraphBuilder('hand');
  addFeatureInputs(g, FEATURES);
  if (kind === 'classifier') {
    const onehot = g.op('OneHotEncoder', ['colour'], [attr.strings('cats_strings', ['red', 'blue']), attr.i('zeros', 1)], 'ai.onnx.ml');
    const flat = g.op('Squeeze', [onehot, g.constant('axes', { type: 'int64', dims: [1], values: [1] })]);
    const w = g.constant('w', { type: 'float', dims: [2, 1], values: [2, -2] });
    const colourLogit = g.op('MatMul', [flat, w]);
    const logits = g.op('Concat', ['size', colourLogit], [attr.i('axis', 1)]);
    emitSoftmaxClassifierHead(g, logits, ['a', 'b']);
  } else {
    const y = g.op('Add', [g.op('Mul', ['size', g.constant('k', { type: 'float', dims: [1], values: [3] })]), g.constant('b', { type: 'float', dims: [1], values: [1] })]);
    emitRegressionHead(g, y);
  }
  return encodeModel({
    producerName: 'test',
    graph: g.build(),
    metadata: mlcycleMetadataProps({
      task: kind === 'classifier' ? 'binary_classification' : 'regression',
      classes: kind === 'classifier' ? ['a', 'b'] : undefined,
      features: FEATURES,
      trainer: 'hand',
    }),
  });
}

const table: TypedTable = {
  schema: { columns: [] },
  rowCount: 4,
  numeric: { size: Float64Array.of(1, -1, NaN, 0.5) },
  categorical: { colour: ['red', 'blue', null, 'green'] },
};

describe('protobuf writer', () => {
  it('encodes varints (incl. negative int64), floats and nested messages', () => {
    const w = new ProtoWriter();
    w.varint(1, 300).varint(2, -1).float(3, 1.5).message(4, (m) => m.string(1, 'hé'));
    const fields = decodeFields(w.finish());
    expect(fields.map((f) => f.field)).toEqual([1, 2, 3, 4]);
    expect(fields[0].varint).toBe(300n);
    expect(BigInt.asIntN(64, fields[1].varint!)).toBe(-1n);
    expect(Buffer.from(decodeFields(fields[3].bytes!)[0].bytes!).toString('utf8')).toBe('hé');
  });

  it('is deterministic and writes metadata in key order', () => {
    const a = handModel('classifier');
    expect(Buffer.from(a).equals(Buffer.from(handModel('classifier')))).toBe(true);
    const header = readOnnxHeader(a);
    expect(header.irVersion).toBe(8);
    expect(header.opsets).toEqual([
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    expect(Object.keys(header.metadata)).toEqual(['mlcycle.classes', 'mlcycle.features', 'mlcycle.task', 'mlcycle.trainer']);
  });

  it('writes every attribute type onnxruntime needs (FLOAT, INT, STRING, FLOATS, INTS, STRINGS, TENSOR)', async () => {
    const g = new GraphBuilder('attrs');
    g.input('x', 'float', ['N', 2]);
    g.input('s', 'string', ['N', 1]);
    const constant = g.op('Constant', [], [attr.t('value', { type: 'float', dims: [1, 2], values: [10, 20] })]);
    const gemm = g.op('Gemm', ['x', g.constant('w', { type: 'float', dims: [2, 2], values: [1, 0, 0, 1] }), constant], [attr.f('alpha', 2), attr.i('transB', 1)]);
    g.reserve('y');
    g.node('ReduceSum', [gemm, g.constant('axes', { type: 'int64', dims: [1], values: [-1] })], ['y'], [attr.i('keepdims', 1)]);
    g.output('y', 'float', ['N', 1]);
    g.reserve('code');
    g.node(
      'LabelEncoder',
      ['s'],
      ['code'],
      [attr.strings('keys_strings', ['p', 'q']), attr.floats('values_floats', [1.5, 2.5]), attr.f('default_float', -1)],
      'ai.onnx.ml',
    );
    g.output('code', 'float', ['N', 1]);
    g.reserve('label');
    g.node('LabelEncoder', ['code'], ['label'], [attr.floats('keys_floats', [1.5]), attr.strings('values_strings', ['P']), attr.s('default_string', '?')], 'ai.onnx.ml');
    g.output('label', 'string', ['N', 1]);
    const session = await ort.InferenceSession.create(encodeModel({ producerName: 't', graph: g.build() }));
    const out = await session.run({ x: float32Tensor(Float32Array.of(1, 2, 3, 4), [2, 2]), s: stringTensor(['q', 'p'], [2, 1]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([2 * 1 + 10 + 2 * 2 + 20, 2 * 3 + 10 + 2 * 4 + 20]);
    expect(Array.from(out.code.data as Float32Array)).toEqual([2.5, 1.5]);
    expect(out.label.data).toEqual(['?', 'P']);
    await session.release();
  });

  it('setOnnxMetadata replaces keys and keeps the model loadable', async () => {
    const bytes = setOnnxMetadata(handModel('regressor'), { 'mlcycle.trainer': 'external:x', extra: 'yes' });
    const meta = readOnnxHeader(bytes).metadata;
    expect(meta['mlcycle.trainer']).toBe('external:x');
    expect(meta.extra).toBe('yes');
    expect(meta['mlcycle.task']).toBe('regression');
    expect((await inspectOnnx(bytes)).outputs.map((o) => o.name)).toEqual(['variable']);
  });
});

describe('runner', () => {
  it('runs a classifier over table rows, with missing and unknown values', async () => {
    const prediction = await runOnnxModel(handModel('classifier'), table, [0, 1, 2, 3], FEATURES, { batchSize: 3 });
    expect(prediction.classes).toEqual(['a', 'b']);
    const softmax = (a: number, b: number) => Math.exp(b) / (Math.exp(a) + Math.exp(b));
    // row 0: logits [1, 2]; row 1: [-1, -2]; row 3: unknown colour → [0.5, 0]
    expect(prediction.probabilities![1]).toBeCloseTo(softmax(1, 2), 6);
    expect(prediction.probabilities![3]).toBeCloseTo(softmax(-1, -2), 6);
    expect(prediction.probabilities![7]).toBeCloseTo(softmax(0.5, 0), 6);
    expect(prediction.labels).toEqual(['b', 'a', expect.any(String), 'a']);
    expect(Number.isNaN(prediction.probabilities![4])).toBe(true); // no imputation in this hand-made graph
  });

  it('runs a regressor', async () => {
    const prediction = await runOnnxModel(handModel('regressor'), table, Uint32Array.of(3, 0), FEATURES);
    expect(Array.from(prediction.values!)).toEqual([2.5, 4]);
  });

  it('inspects inputs/outputs and checks the contract', async () => {
    const info = await inspectOnnx(handModel('classifier'));
    expect(info.inputs).toEqual([
      { name: 'size', type: 'float32', shape: ['N', 1] },
      { name: 'colour', type: 'string', shape: ['N', 1] },
    ]);
    expect(info.outputs.map((o) => [o.name, o.type])).toEqual([
      ['label', 'string'],
      ['probabilities', 'float32'],
    ]);
    expect(contractProblems(info, 'binary_classification', FEATURES, ['a', 'b'])).toEqual([]);
    expect(contractProblems(info, 'multiclass_classification', FEATURES, ['a', 'b', 'c'])).toEqual([
      "output 'probabilities' has 2 columns but the model declares 3 classes",
    ]);
    expect(contractProblems(info, 'regression', [{ name: 'size', kind: 'categorical' }])).toEqual([
      "input 'size' is float32; a categorical feature must be string",
      "input 'colour' is not a feature column; the model may only take the features as inputs",
      "missing output 'variable' (tensor(float) [N,1])",
    ]);
  });

  it('reports unloadable bytes and bad metadata as OnnxContractError', async () => {
    await expect(inspectOnnx(new Uint8Array([1, 2, 3]))).rejects.toThrow(OnnxContractError);
    await expect(inspectOnnx(Buffer.from('definitely not a model'))).rejects.toThrow(/not an ONNX model|cannot load/);
    const bad = setOnnxMetadata(handModel('classifier'), { 'mlcycle.classes': '{"a":1}' });
    expect(() => readMlcycleMetadata(bad)).toThrow(/mlcycle.classes' must be a JSON array/);
  });
});

describe('synchronous session (the event-loop executor of libs/serving/pool.ts)', () => {
  const feeds = () => ({ size: float32Tensor(Float32Array.of(1, -1, 0.5), [3, 1]), colour: stringTensor(['red', 'blue', 'green'], [3, 1]) });

  it('answers exactly what InferenceSession answers, without a promise, for the outputs asked', async () => {
    const bytes = handModel('classifier');
    const sync = createSyncOnnxSession(bytes);
    const session = await createOnnxSession(bytes);
    try {
      const expected = await session.run(feeds(), ['label', 'probabilities']);
      const got = sync.run(feeds(), ['label', 'probabilities']);
      expect(got).not.toBeInstanceOf(Promise);
      expect(Object.keys(got).sort()).toEqual(['label', 'probabilities']);
      expect(got.label.data).toEqual(expected.label.data);
      expect(got.probabilities.dims).toEqual([3, 2]);
      expect(Array.from(got.probabilities.data as Float32Array)).toEqual(Array.from(expected.probabilities.data as Float32Array));
      expect(Object.keys(sync.run(feeds(), ['label']))).toEqual(['label']);
    } finally {
      sync.release();
      await session.release();
    }
  });

  it('throws for a missing input, and after release; releasing twice is harmless', () => {
    const sync = createSyncOnnxSession(handModel('regressor'));
    expect(() => sync.run({ size: float32Tensor(Float32Array.of(1), [1, 1]) }, ['variable'])).toThrow("input 'colour' is missing in 'feeds'.");
    expect(Array.from(sync.run({ ...feeds() }, ['variable']).variable.data as Float32Array)).toEqual([4, -2, 2.5]);
    sync.release();
    sync.release();
    expect(() => sync.run(feeds(), ['variable'])).toThrow(/disposed/);
  });

  it('reports unloadable bytes as OnnxContractError', () => {
    expect(() => createSyncOnnxSession(new Uint8Array([1, 2, 3]))).toThrow(OnnxContractError);
  });
});
