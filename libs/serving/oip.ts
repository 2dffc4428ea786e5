/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP) request and response bodies, pure: decoding and validating
 * an infer request against a model's signature, encoding the response, and the binary tensor extension that
 * Triton's clients use by default (`Inference-Header-Content-Length`: a JSON header followed by raw tensor bytes;
 * FP32 little-endian, BYTES as 4-byte little-endian length + UTF-8 bytes per element).
 * Spec: https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md and
 * https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
 */
import type { ModelSignature, OipDatatype, TensorSpec } from './signature';

/** A 4xx answer with the OIP error body `{"error": message}`. */
export class OipError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'OipError';
  }
}

export type ColumnData = Float32Array | string[];

export interface RequestedOutput {
  name: string;
  /** return the tensor in the binary section instead of JSON `data` */
  binary: boolean;
}

export interface DecodedInferRequest {
  /** the client's request id, echoed in the response */
  id?: string;
  rows: number;
  /** one column per model input, `rows` long */
  columns: Record<string, ColumnData>;
  /** the outputs to return, in order */
  outputs: RequestedOutput[];
}

export interface DecodeLimits {
  maxRows: number;
}

const KNOWN_DATATYPES = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * Flattens `data` (flat, or nested row-major to match `shape`) into a flat array; throws when the nesting or the
 * element count disagrees with the shape.
 */
export function flattenTensorData(name: string, data: unknown, shape: readonly number[]): unknown[] {
  if (!Array.isArray(data)) throw new OipError(`input '${name}': 'data' must be an array`);
  const expected = shape.reduce((a, b) => a * b, 1);
  // Nested data starts with an array. Flat data is not searched for stray arrays here (a hot path: every element of
  // every request): the per-datatype conversion rejects any element that is not a number or a string.
  const nested = data.length > 0 && Array.isArray(data[0]);
  if (!nested) {
    if (data.length !== expected) {
      throw new OipError(`input '${name}' has ${data.length} element${data.length === 1 ? '' : 's'} but shape ${describeShape(shape)} needs ${expected}`);
    }
    return data;
  }
  const out: unknown[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw new OipError(`input '${name}': data${path} is nested deeper than shape ${describeShape(shape)}`);
      out.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new OipError(
        `input '${name}': data${path} should be an array of ${shape[depth]} to match shape ${describeShape(shape)}, got ${Array.isArray(node) ? `${node.length} elements` : short(node)}`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(data, 0, '');
  return out;
}

/** FP32 elements from JSON: numbers, and null for a missing value (NaN; JSON has no NaN). */
function fp32FromJson(name: string, values: unknown[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') out[i] = v;
    else if (v === null) out[i] = NaN;
    else throw new OipError(`input '${name}' is FP32 but element ${i} is ${short(v)}; send numbers (null for a missing value)`);
  }
  return out;
}

/** BYTES elements from JSON: strings, and null for a missing value (the empty string, per the graph contract). */
function bytesFromJson(name: string, values: unknown[]): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') out[i] = v;
    else if (v === null) out[i] = '';
    else throw new OipError(`input '${name}' is BYTES but element ${i} is ${short(v)}; send strings (null for a missing value)`);
  }
  return out;
}

function fp32FromBinary(name: string, bytes: Uint8Array, count: number): Float32Array {
  if (bytes.byteLength !== count * 4) {
    throw new OipError(`input '${name}': binary_data_size is ${bytes.byteLength} bytes, but ${count} FP32 elements take ${count * 4}`);
  }
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function bytesFromBinary(name: string, bytes: Uint8Array, count: number): string[] {
  const out: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  while (at < bytes.byteLength) {
    if (at + 4 > bytes.byteLength) throw new OipError(`input '${name}': truncated BYTES element length at byte ${at}`);
    const len = view.getUint32(at, true);
    at += 4;
    if (at + len > bytes.byteLength) throw new OipError(`input '${name}': BYTES element ${out.length} runs past the end of its binary data`);
    try {
      out.push(decoder.decode(bytes.subarray(at, at + len)));
    } catch {
      throw new OipError(`input '${name}': BYTES element ${out.length} is not valid UTF-8`);
    }
    at += len;
  }
  if (out.length !== count) throw new OipError(`input '${name}' has ${out.length} BYTES elements in its binary data but its shape needs ${count}`);
  return out;
}

function parseShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new OipError(`input '${name}': 'shape' must be an array of non-negative integers, got ${short(shape)}`);
  }
  return shape as number[];
}

/**
 * Decodes and validates an infer request body against the model's signature. `binary` is the section after the
 * JSON header when the request used the binary tensor extension.
 */
export function decodeInferRequest(body: unknown, binary: Uint8Array | undefined, signature: ModelSignature, limits: DecodeLimits): DecodedInferRequest {
  if (!isObject(body)) throw new OipError('the request body must be a JSON object with an "inputs" array');
  if (body.id !== undefined && typeof body.id !== 'string') throw new OipError(`'id' must be a string`);
  const requestParams = body.parameters;
  if (requestParams !== undefined && !isObject(requestParams)) throw new OipError(`'parameters' must be an object`);
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw new OipError(`'inputs' must be a non-empty array of tensors`);

  const expected = new Map<string, TensorSpec>(signature.inputs.map((i) => [i.name, i]));
  const columns: Record<string, ColumnData> = {};
  let rows: number | undefined;
  let firstInput = '';
  let binaryAt = 0;
  const unknown: string[] = [];
  for (const [index, raw] of body.inputs.entries()) {
    if (!isObject(raw)) throw new OipError(`inputs[${index}] must be an object with name, shape, datatype and data`);
    const name = raw.name;
    if (typeof name !== 'string' || !name) throw new OipError(`inputs[${index}] has no 'name'`);
    const spec = expected.get(name);
    if (!spec) {
      unknown.push(name);
      continue;
    }
    if (columns[name]) throw new OipError(`input '${name}' appears more than once`);
    const datatype = raw.datatype;
    if (typeof datatype !== 'string' || !KNOWN_DATATYPES.has(datatype)) {
      throw new OipError(`input '${name}' has datatype ${short(datatype)}; expected ${spec.datatype}`);
    }
    if (datatype !== spec.datatype) throw new OipError(`input '${name}' has datatype ${datatype}; the model expects ${spec.datatype}`);
    const shape = parseShape(name, raw.shape);
    if (shape.length !== 2 || shape[1] !== 1) {
      throw new OipError(`input '${name}' has shape ${describeShape(shape)}; the model expects [N, 1] (one column, N rows)`);
    }
    const n = shape[0];
    if (n < 1) throw new OipError(`input '${name}' has shape ${describeShape(shape)}: at least one row is needed`);
    if (rows === undefined) {
      rows = n;
      firstInput = name;
    } else if (n !== rows) {
      throw new OipError(`input '${name}' has ${n} rows but '${firstInput}' has ${rows}; every input needs the same number of rows`);
    }
    if (n > limits.maxRows) throw new OipError(`the request has ${n} rows; this server takes at most ${limits.maxRows} per request`, 413);
    const params = raw.parameters;
    if (params !== undefined && !isObject(params)) throw new OipError(`input '${name}': 'parameters' must be an object`);
    if (params && (params.shared_memory_region !== undefined)) throw new OipError(`input '${name}': shared-memory inputs are not supported`);
    const binarySize = params?.binary_data_size;
    if (binarySize !== undefined) {
      if (!Number.isInteger(binarySize) || (binarySize as number) < 0) throw new OipError(`input '${name}': binary_data_size must be a non-negative integer`);
      if (raw.data !== undefined) throw new OipError(`input '${name}' has both 'data' and binary_data_size`);
      if (!binary) throw new OipError(`input '${name}' has binary_data_size but the request has no binary section (Inference-Header-Content-Length)`);
      const size = binarySize as number;
      if (binaryAt + size > binary.byteLength) throw new OipError(`input '${name}': binary_data_size ${size} runs past the end of the request`);
      const slice = binary.subarray(binaryAt, binaryAt + size);
      binaryAt += size;
      columns[name] = spec.datatype === 'FP32' ? fp32FromBinary(name, slice, n) : bytesFromBinary(name, slice, n);
    } else {
      if (raw.data === undefined) throw new OipError(`input '${name}' has no 'data'`);
      const flat = flattenTensorData(name, raw.data, shape);
      columns[name] = spec.datatype === 'FP32' ? fp32FromJson(name, flat) : bytesFromJson(name, flat);
    }
  }
  if (unknown.length) {
    throw new OipError(
      `unknown input${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; the model's inputs are ${signature.inputs.map((i) => `'${i.name}'`).join(', ')}`,
    );
  }
  const missing = signature.inputs.filter((i) => !columns[i.name]).map((i) => `'${i.name}' (${i.datatype} [N, 1])`);
  if (missing.length) throw new OipError(`missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (binary && binaryAt !== binary.byteLength) {
    throw new OipError(`the binary section has ${binary.byteLength - binaryAt} bytes that no input's binary_data_size accounts for`);
  }

  const binaryByDefault = requestParams?.binary_data_output === true;
  let outputs: RequestedOutput[];
  if (body.outputs === undefined) {
    outputs = signature.outputs.map((o) => ({ name: o.name, binary: binaryByDefault }));
  } else {
    if (!Array.isArray(body.outputs)) throw new OipError(`'outputs' must be an array of {name}`);
    const known = new Set(signature.outputs.map((o) => o.name));
    outputs = [];
    for (const [index, raw] of body.outputs.entries()) {
      if (!isObject(raw) || typeof raw.name !== 'string') throw new OipError(`outputs[${index}] must be an object with a 'name'`);
      if (!known.has(raw.name)) {
        throw new OipError(`unknown output '${raw.name}'; the model's outputs are ${signature.outputs.map((o) => `'${o.name}'`).join(', ')}`);
      }
      const params = raw.parameters;
      if (params !== undefined && !isObject(params)) throw new OipError(`output '${raw.name}': 'parameters' must be an object`);
      if (params?.shared_memory_region !== undefined) throw new OipError(`output '${raw.name}': shared-memory outputs are not supported`);
      if (params?.classification !== undefined) throw new OipError(`output '${raw.name}': the classification extension is not supported; read 'label' and 'probabilities'`);
      const bin = params?.binary_data;
      if (bin !== undefined && typeof bin !== 'boolean') throw new OipError(`output '${raw.name}': binary_data must be true or false`);
      if (outputs.some((o) => o.name === raw.name)) throw new OipError(`output '${raw.name}' is requested more than once`);
      outputs.push({ name: raw.name, binary: bin ?? binaryByDefault });
    }
    if (!outputs.length) outputs = signature.outputs.map((o) => ({ name: o.name, binary: binaryByDefault }));
  }
  return { id: body.id as string | undefined, rows: rows!, columns, outputs };
}

/** Splits a request body that uses the binary extension into its JSON header and binary section. */
export function splitBinaryBody(raw: Uint8Array, headerLength: number | undefined): { header: unknown; binary?: Uint8Array } {
  const length = headerLength ?? raw.byteLength;
  if (!Number.isInteger(length) || length < 0 || length > raw.byteLength) {
    throw new OipError(`Inference-Header-Content-Length is ${headerLength} but the body has ${raw.byteLength} bytes`);
  }
  const text = Buffer.from(raw.buffer, raw.byteOffset, length).toString('utf8');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new OipError(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  return headerLength === undefined ? { header } : { header, binary: raw.subarray(length) };
}

export interface OutputTensor {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  data: ColumnData;
}

export interface EncodedResponse {
  body: Buffer;
  contentType: string;
  /** set when the body carries a binary section: the JSON header's length */
  headerLength?: number;
}

function bytesTensorToBinary(values: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    const b = Buffer.from(v, 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(b.length, 0);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

function fp32ToBinary(values: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i], i * 4);
  return out;
}

/**
 * FP32 values as a JSON array. JSON has no NaN or infinities: they go out as null, the same convention inputs use for
 * a missing value. Numbers print as JSON.stringify prints them (String and JSON share the shortest round-trip form).
 */
function fp32JsonArray(values: Float32Array): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i) out += ',';
    const v = values[i];
    out += Number.isFinite(v) ? String(v) : 'null';
  }
  return out + ']';
}

/**
 * Encodes an infer response; outputs requested as binary go into a binary section after the JSON header. The JSON
 * is written directly rather than built as objects for JSON.stringify: it is on every request's path, and a
 * response is a few fixed keys around the output tensors.
 */
export function encodeInferResponse(response: {
  modelName: string;
  modelVersion: number;
  id?: string;
  parameters?: Record<string, string | number | boolean>;
  outputs: OutputTensor[];
  requested: RequestedOutput[];
}): EncodedResponse {
  const binaryParts: Buffer[] = [];
  let json = `{"model_name":${JSON.stringify(response.modelName)},"model_version":"${response.modelVersion}"`;
  if (response.id !== undefined) json += `,"id":${JSON.stringify(response.id)}`;
  if (response.parameters) json += `,"parameters":${JSON.stringify(response.parameters)}`;
  json += ',"outputs":[';
  for (let i = 0; i < response.requested.length; i++) {
    const r = response.requested[i];
    const t = response.outputs.find((o) => o.name === r.name);
    if (!t) throw new Error(`the model returned no output '${r.name}'`);
    json += `${i ? ',' : ''}{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}]`;
    if (r.binary) {
      const bytes = t.datatype === 'BYTES' ? bytesTensorToBinary(t.data as string[]) : fp32ToBinary(t.data as Float32Array);
      binaryParts.push(bytes);
      json += `,"parameters":{"binary_data_size":${bytes.length}}}`;
    } else {
      json += `,"data":${t.datatype === 'BYTES' ? JSON.stringify(t.data) : fp32JsonArray(t.data as Float32Array)}}`;
    }
  }
  json += ']}';
  if (!binaryParts.length) return { body: Buffer.from(json, 'utf8'), contentType: 'application/json' };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...binaryParts]), contentType: 'application/octet-stream', headerLength: header.length };
}

/** GET /v2/models/{name}[/versions/{v}]: the model metadata response. */
export function modelMetadata(name: string, versions: number[], signature: ModelSignature): Record<string, unknown> {
  return {
    name,
    versions: versions.map(String),
    platform: 'onnxruntime_onnx',
    inputs: signature.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
    outputs: signature.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
  };
}
