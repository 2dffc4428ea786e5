/**
 * A small hand-written protobuf encoder (and top-level decoder) for the subset of onnx.proto that mlcycle writes.
 *
 * Why by hand rather than protobufjs + a vendored onnx.proto: the subset is ~40 field numbers, the encoding rules
 * are four (varint, fixed32, fixed64, length-delimited), and writing them directly gives byte-for-byte
 * deterministic output (same model → same bytes → same content-addressed artifact key) with no schema file to keep
 * in sync and no reflection cost. Field numbers are those of onnx/onnx.proto (IR version 8+); each is named below.
 */

export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

/** Append-only protobuf writer; nested messages are encoded to bytes first and then written length-delimited. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    if (typeof value === 'number' && value >= 0 && value < 2 ** 31) {
      // fast path for the common small non-negative ints
      let n = value;
      this.ensure(5);
      while (n > 0x7f) {
        this.buf[this.len++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      this.buf[this.len++] = n;
      return;
    }
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private tag(field: number, wire: WireType): void {
    this.rawVarint((field << 3) | wire);
  }

  /** int32/int64/enum/bool; negative numbers are written as 64-bit two's complement, as protobuf requires. */
  varint(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`protobuf field ${field}: ${value} is not an integer`);
    }
    this.tag(field, WireType.Varint);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.Fixed32);
    this.ensure(4);
    this.scratch.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.buf[this.len++] = this.scratch.getUint8(i);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited);
    this.rawVarint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, encode: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    encode(inner);
    return this.bytes(field, inner.finish());
  }

  packedVarints(field: number, values: ArrayLike<number | bigint>): this {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.rawVarint(values[i]);
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, data);
  }

  /** Appends already-encoded field bytes verbatim (used when rewriting a model's top level). */
  raw(data: Uint8Array): this {
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

export interface RawField {
  field: number;
  wire: WireType;
  /** varint value (as bigint) for varint fields */
  varint?: bigint;
  /** payload for length-delimited fields */
  bytes?: Uint8Array;
  /** the whole field, tag included, for verbatim copying */
  encoded: Uint8Array;
}

export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

/** Splits one protobuf message into its fields without interpreting nested messages. */
export function decodeFields(data: Uint8Array): RawField[] {
  const fields: RawField[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= data.length) throw new ProtoDecodeError('truncated varint: the file is not a complete protobuf message');
      const b = data[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtoDecodeError('varint longer than 10 bytes: the file is not an ONNX protobuf');
    }
  };
  while (pos < data.length) {
    const start = pos;
    const key = readVarint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n) as WireType;
    if (field === 0) throw new ProtoDecodeError('field number 0: the file is not an ONNX protobuf');
    const out: RawField = { field, wire, encoded: data.subarray(0, 0) };
    switch (wire) {
      case WireType.Varint:
        out.varint = readVarint();
        break;
      case WireType.Fixed64:
        pos += 8;
        break;
      case WireType.Fixed32:
        pos += 4;
        break;
      case WireType.LengthDelimited: {
        const length = Number(readVarint());
        if (pos + length > data.length) throw new ProtoDecodeError('length-delimited field runs past the end of the data');
        out.bytes = data.subarray(pos, pos + length);
        pos += length;
        break;
      }
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire as number}: the file is not an ONNX protobuf`);
    }
    if (pos > data.length) throw new ProtoDecodeError('field runs past the end of the data');
    out.encoded = data.subarray(start, pos);
    fields.push(out);
  }
  return fields;
}

export function decodeString(bytes: Uint8Array | undefined): string {
  return bytes ? utf8Decoder.decode(bytes) : '';
}
