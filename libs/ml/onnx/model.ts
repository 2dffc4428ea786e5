/**
 * ONNX ModelProto construction: plain data types for the parts of onnx.proto mlcycle uses, an encoder to bytes,
 * a GraphBuilder that hands out unique value names, and top-level readers/rewriters for metadata_props.
 */
import { decodeFields, decodeString, ProtoWriter, WireType } from './proto';

/** onnx.TensorProto.DataType values */
export const TensorDataType = {
  float: 1,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  double: 11,
} as const;
export type ElemType = keyof typeof TensorDataType;

/** IR version 8 pairs with ai.onnx opset 17 / ai.onnx.ml 3; onnxruntime-node 1.22+ loads both. */
export const IR_VERSION = 8;
export const OPSET_AI_ONNX = 17;
export const OPSET_AI_ONNX_ML = 3;
export const ML_DOMAIN = 'ai.onnx.ml';

export interface Tensor {
  name?: string;
  type: ElemType;
  dims: number[];
  /** float/double/int32/int64 as numbers (int64 may also be bigint), string as strings, bool as 0/1 */
  values: ArrayLike<number> | ArrayLike<bigint> | readonly string[];
}

export type Attribute =
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'floats'; value: ArrayLike<number> }
  | { name: string; type: 'ints'; value: ArrayLike<number> }
  | { name: string; type: 'strings'; value: readonly string[] }
  | { name: string; type: 'tensor'; value: Tensor };

/** Shorthands for node attributes: `attr.i('axis', 1)`. */
export const attr = {
  f: (name: string, value: number): Attribute => ({ name, type: 'float', value }),
  i: (name: string, value: number): Attribute => ({ name, type: 'int', value }),
  s: (name: string, value: string): Attribute => ({ name, type: 'string', value }),
  floats: (name: string, value: ArrayLike<number>): Attribute => ({ name, type: 'floats', value }),
  ints: (name: string, value: ArrayLike<number>): Attribute => ({ name, type: 'ints', value }),
  strings: (name: string, value: readonly string[]): Attribute => ({ name, type: 'strings', value }),
  t: (name: string, value: Tensor): Attribute => ({ name, type: 'tensor', value }),
};

export interface Node {
  opType: string;
  domain?: string;
  name?: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

/** A dimension is a fixed size or a symbolic name such as 'N'. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  type: ElemType;
  shape: Dim[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  irVersion?: number;
  opsets?: OpsetImport[];
  producerName: string;
  producerVersion?: string;
  docString?: string;
  graph: Graph;
  /** stored as metadata_props, in key order so the bytes are deterministic */
  metadata?: Record<string, string>;
}

// --- encoding -------------------------------------------------------------------------------------------------

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

function encodeTensor(w: ProtoWriter, t: Tensor): void {
  // TensorProto: dims=1, data_type=2, string_data=6, name=8, raw_data=9
  if (t.dims.length > 0) w.packedVarints(1, t.dims);
  w.varint(2, TensorDataType[t.type]);
  if (t.name) w.string(8, t.name);
  const n = t.values.length;
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (n !== expected) throw new RangeError(`tensor ${t.name ?? '(unnamed)'}: ${n} values for dims [${t.dims.join(', ')}]`);
  if (t.type === 'string') {
    for (const s of t.values as readonly string[]) w.string(6, s);
    return;
  }
  const width = t.type === 'float' || t.type === 'int32' ? 4 : t.type === 'bool' ? 1 : 8;
  const raw = new Uint8Array(n * width);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < n; i++) {
    const v = t.values[i] as number | bigint;
    switch (t.type) {
      case 'float':
        view.setFloat32(i * 4, Number(v), true);
        break;
      case 'double':
        view.setFloat64(i * 8, Number(v), true);
        break;
      case 'int32':
        view.setInt32(i * 4, Number(v), true);
        break;
      case 'int64':
        view.setBigInt64(i * 8, BigInt(v), true);
        break;
      case 'bool':
        view.setUint8(i, v ? 1 : 0);
        break;
    }
  }
  w.bytes(9, raw);
}

function encodeAttribute(w: ProtoWriter, a: Attribute): void {
  // AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, strings=9, type=20
  w.string(1, a.name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.varint(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, (m) => encodeTensor(m, a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedVarints(8, a.value);
      break;
    case 'strings':
      for (const s of a.value) w.string(9, s);
      break;
  }
  w.varint(20, ATTRIBUTE_TYPE[a.type]);
}

function encodeNode(w: ProtoWriter, n: Node): void {
  // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (m) => encodeAttribute(m, a));
  if (n.domain) w.string(7, n.domain);
}

function encodeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  // ValueInfoProto: name=1, type=2; TypeProto.tensor_type=1; Tensor: elem_type=1, shape=2;
  // TensorShapeProto.dim=1; Dimension: dim_value=1, dim_param=2
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.varint(1, TensorDataType[v.type]);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function encodeGraph(w: ProtoWriter, g: Graph): void {
  // GraphProto: node=1, name=2, initializer=5, input=11, output=12
  for (const n of g.nodes) w.message(1, (m) => encodeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => encodeTensor(m, t));
  for (const i of g.inputs) w.message(11, (m) => encodeValueInfo(m, i));
  for (const o of g.outputs) w.message(12, (m) => encodeValueInfo(m, o));
}

function encodeMetadataEntry(w: ProtoWriter, key: string, value: string): void {
  // ModelProto.metadata_props=14 of StringStringEntryProto: key=1, value=2
  w.message(14, (m) => m.string(1, key).string(2, value));
}

/** Serializes a Model to ONNX ModelProto bytes. */
export function encodeModel(model: Model): Uint8Array {
  // ModelProto: ir_version=1, producer_name=2, producer_version=3, doc_string=6, graph=7, opset_import=8,
  // metadata_props=14; OperatorSetIdProto: domain=1, version=2
  const w = new ProtoWriter();
  w.varint(1, model.irVersion ?? IR_VERSION);
  w.string(2, model.producerName);
  if (model.producerVersion) w.string(3, model.producerVersion);
  if (model.docString) w.string(6, model.docString);
  w.message(7, (m) => encodeGraph(m, model.graph));
  const opsets = model.opsets ?? [
    { domain: '', version: OPSET_AI_ONNX },
    { domain: ML_DOMAIN, version: OPSET_AI_ONNX_ML },
  ];
  for (const o of opsets) w.message(8, (m) => m.string(1, o.domain).varint(2, o.version));
  for (const key of Object.keys(model.metadata ?? {}).sort()) encodeMetadataEntry(w, key, model.metadata![key]);
  return w.finish();
}

// --- reading and rewriting the top level -------------------------------------------------------------------------

export interface OnnxHeader {
  irVersion?: number;
  producerName: string;
  producerVersion: string;
  opsets: OpsetImport[];
  metadata: Record<string, string>;
}

/**
 * Reads the ModelProto top level (IR version, producer, opsets, metadata_props) without decoding the graph.
 * onnxruntime's JS API does not expose custom metadata, so serving reads `mlcycle.classes` through this.
 */
export function readOnnxHeader(bytes: Uint8Array): OnnxHeader {
  const header: OnnxHeader = { producerName: '', producerVersion: '', opsets: [], metadata: {} };
  for (const f of decodeFields(bytes)) {
    if (f.field === 1 && f.wire === WireType.Varint) header.irVersion = Number(f.varint);
    else if (f.field === 2 && f.wire === WireType.LengthDelimited) header.producerName = decodeString(f.bytes);
    else if (f.field === 3 && f.wire === WireType.LengthDelimited) header.producerVersion = decodeString(f.bytes);
    else if (f.field === 8 && f.wire === WireType.LengthDelimited) {
      const opset: OpsetImport = { domain: '', version: 0 };
      for (const g of decodeFields(f.bytes!)) {
        if (g.field === 1 && g.wire === WireType.LengthDelimited) opset.domain = decodeString(g.bytes);
        if (g.field === 2 && g.wire === WireType.Varint) opset.version = Number(g.varint);
      }
      header.opsets.push(opset);
    } else if (f.field === 14 && f.wire === WireType.LengthDelimited) {
      let key = '';
      let value = '';
      for (const g of decodeFields(f.bytes!)) {
        if (g.field === 1 && g.wire === WireType.LengthDelimited) key = decodeString(g.bytes);
        if (g.field === 2 && g.wire === WireType.LengthDelimited) value = decodeString(g.bytes);
      }
      header.metadata[key] = value;
    }
  }
  return header;
}

/**
 * Returns a copy of the model with the given metadata_props set (replacing entries with the same key, keeping the
 * rest). Used to stamp mlcycle's metadata onto models written by external trainers.
 */
export function setOnnxMetadata(bytes: Uint8Array, entries: Record<string, string>): Uint8Array {
  const w = new ProtoWriter();
  const replaced = new Set(Object.keys(entries));
  for (const f of decodeFields(bytes)) {
    if (f.field === 14 && f.wire === WireType.LengthDelimited) {
      const keyField = decodeFields(f.bytes!).find((g) => g.field === 1);
      if (replaced.has(decodeString(keyField?.bytes))) continue;
    }
    w.raw(f.encoded);
  }
  for (const key of Object.keys(entries).sort()) encodeMetadataEntry(w, key, entries[key]);
  return w.finish();
}

// --- graph building ----------------------------------------------------------------------------------------------

/** Collects nodes and initializers and hands out unique value names, so graph fragments compose safely. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** Reserves an exact name (graph inputs and outputs); throws if taken. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX value name '${name}' is used twice in graph '${this.name}'`);
    this.used.add(name);
    return name;
  }

  /** A fresh internal value name that cannot collide with a reserved (column) name. */
  fresh(hint: string): string {
    for (;;) {
      const candidate = `_${hint}_${this.counter++}`;
      if (!this.used.has(candidate)) {
        this.used.add(candidate);
        return candidate;
      }
    }
  }

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push({ name: this.reserve(name), type, shape });
    return name;
  }

  /** Declares a graph output; `name` must already have been reserved as some node's output name. */
  output(name: string, type: ElemType, shape: Dim[]): void {
    if (!this.used.has(name)) throw new Error(`graph output '${name}' is not produced by any node`);
    this.outputs.push({ name, type, shape });
  }

  constant(hint: string, tensor: Omit<Tensor, 'name'>): string {
    const name = this.fresh(hint);
    this.initializers.push({ ...tensor, name });
    return name;
  }

  /**
   * Adds a node. `outputs` may be exact names (already reserved with reserve()) or, as a number, how many fresh
   * outputs to create. Returns the output names.
   */
  node(opType: string, inputs: string[], outputs: string[] | number = 1, attributes: Attribute[] = [], domain?: string): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    this.nodes.push({ opType, inputs, outputs: outs, attributes, domain, name: `${opType}_${this.nodes.length}` });
    return outs;
  }

  /** The single output of a one-output node. */
  op(opType: string, inputs: string[], attributes: Attribute[] = [], domain?: string): string {
    return this.node(opType, inputs, 1, attributes, domain)[0];
  }

  build(): Graph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}
