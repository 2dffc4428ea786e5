/**
 * The HTTP side of serving: reads infer bodies (JSON, or the binary tensor extension, optionally gzip/deflate),
 * asks the replica for a version, decodes and validates against that version's signature, runs, encodes, and
 * reports every answered request back to the replica (metrics, traffic window, prediction log, shadow mirror).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { RegistryService } from '../../libs/registry';
import { decodeInferRequest, encodeInferResponse, OipError, splitBinaryBody } from '../../libs/serving/oip';
import type { ColumnData, EncodedResponse, OutputTensor } from '../../libs/serving/oip';
import { decodeRecords, predictionsFromOutputs, RecordsError } from '../../libs/serving/records';
import type { RecordPrediction } from '../../libs/serving/records';
import { ServingError, ServingReplica } from '../../libs/serving/replica';
import type { Completion, Target } from '../../libs/serving/replica';
import type { RawOutput } from '../../libs/serving/batch-queue';
import { contextOf } from '../common/request-context';

/** Largest infer body read from the stream (binary-extension or non-JSON requests; JSON goes through the app's parser). */
export const MAX_RAW_INFER_BYTES = 64 * 1024 * 1024;

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

export const INFERENCE_ROLES = ['service', 'data-scientist', 'reviewer'] as const;

/** Thrown when this API process does not serve models (MLCYCLE_SERVING_ENABLED=false). */
export class ServingDisabledError extends ServingError {
  constructor() {
    super('this API process does not serve models (MLCYCLE_SERVING_ENABLED=false); call a serving replica', 503, 'not_ready');
  }
}

function headerOf(req: Pick<Request, 'headers'>, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** What the service needs to know about the HTTP call, whichever server path it came by (Nest or the fast path). */
export interface CallInfo {
  requestId: string;
  /** a request header by lower-case name */
  header(name: string): string | undefined;
}

export function callInfo(req: Request): CallInfo {
  return { requestId: contextOf(req)?.requestId ?? '', header: (name) => headerOf(req, name) };
}

export function readRaw(req: NodeJS.ReadableStream & { readableEnded?: boolean }, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => readBody(req, limit, (err, body) => (err ? reject(err) : resolve(body!))));
}

/**
 * readRaw with a callback, for the inference fast path (no promise per request). Events rather than `for await`,
 * which costs more. A body over `limit` fails with 413 and the rest is drained, so the connection stays usable.
 */
export function readBody(req: NodeJS.ReadableStream & { readableEnded?: boolean }, limit: number, done: (err: Error | undefined, body?: Buffer) => void): void {
  if (req.readableEnded) {
    done(undefined, Buffer.alloc(0));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      cleanup();
      req.resume(); // drain the rest so the connection stays usable
      done(new OipError(`the request body is larger than ${limit} bytes`, 413));
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = () => {
    cleanup();
    done(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  };
  const onError = (err: Error) => {
    cleanup();
    done(err);
  };
  const cleanup = () => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

/**
 * The JSON header and binary section of an infer request. JSON bodies (Content-Type application/json) arrive
 * parsed by the app's body parser; anything else — the binary extension, or a client that sends no Content-Type,
 * as Triton's Python client does — is read here.
 */
export async function readInferBody(req: Request): Promise<InferBody> {
  const headerLength = headerOf(req, 'inference-header-content-length');
  if (req.body !== undefined && !req.readable) {
    if (headerLength !== undefined) throw new OipError('Inference-Header-Content-Length needs a binary body: send it as application/octet-stream, not application/json');
    return { header: req.body };
  }
  return decodeRawInferBody(await readRaw(req, MAX_RAW_INFER_BYTES), headerOf(req, 'content-encoding'), headerLength);
}

export interface InferBody {
  header: unknown;
  binary?: Uint8Array;
}

/** An infer body read as bytes: decompressed, then split into the JSON header and the binary section. */
export function decodeRawInferBody(body: Buffer, contentEncoding: string | undefined, headerLength: string | undefined): InferBody | Promise<InferBody> {
  const encoding = contentEncoding?.toLowerCase();
  if (encoding === 'gzip' || encoding === 'deflate') return inflateInferBody(body, encoding, headerLength);
  if (encoding && encoding !== 'identity') throw new OipError(`Content-Encoding '${encoding}' is not supported (use gzip, deflate or none)`, 415);
  return splitInferBody(body, headerLength);
}

async function inflateInferBody(body: Buffer, encoding: 'gzip' | 'deflate', headerLength: string | undefined): Promise<InferBody> {
  let raw: Buffer;
  try {
    raw = await (encoding === 'gzip' ? gunzip(body, { maxOutputLength: MAX_RAW_INFER_BYTES }) : inflate(body, { maxOutputLength: MAX_RAW_INFER_BYTES }));
  } catch (err) {
    throw new OipError(`could not ${encoding}-decode the request body: ${(err as Error).message}`);
  }
  return splitInferBody(raw, headerLength);
}

function splitInferBody(raw: Buffer, headerLength: string | undefined): InferBody {
  let length: number | undefined;
  if (headerLength !== undefined) {
    if (!/^\d+$/.test(headerLength.trim())) throw new OipError(`Inference-Header-Content-Length must be a byte count, got '${headerLength}'`);
    length = Number(headerLength);
  }
  return splitBinaryBody(raw, length);
}

function statusOf(err: unknown): number {
  if (err instanceof OipError || err instanceof RecordsError || err instanceof ServingError) return err.status;
  return 500;
}

export interface PredictResult {
  requestId: string;
  model: string;
  version: number;
  predictions: RecordPrediction[];
}

@Injectable()
export class InferenceService {
  constructor(
    @Inject(ServingReplica) private readonly replica: ServingReplica,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RegistryService) private readonly registry: RegistryService,
  ) {}

  get enabled(): boolean {
    return this.config.serving.enabled;
  }

  get replicaRef(): ServingReplica {
    if (!this.enabled) throw new ServingDisabledError();
    return this.replica;
  }

  /** The target of a request; synchronous for routed requests (the hot path), a promise when a version is named. */
  private target(call: CallInfo, name: string, version: number | 'champion' | undefined, endpoint: 'v1' | 'v2', started: { at: Date; t0: number }): Target | Promise<Target> {
    const replica = this.replicaRef;
    replica.arrived(started.t0);
    const rejected = (err: unknown) => {
      replica.logRejected(name, { endpoint, requestId: call.requestId, receivedAt: started.at, startedAt: started.t0, status: statusOf(err), error: (err as Error).message });
      return err;
    };
    if (version === undefined) {
      try {
        return replica.route(name, call.header);
      } catch (err) {
        throw rejected(err);
      }
    }
    return this.namedTarget(call, name, version, rejected);
  }

  private async namedTarget(call: CallInfo, name: string, version: number | 'champion', rejected: (err: unknown) => unknown): Promise<Target> {
    const replica = this.replicaRef;
    try {
      let v = version;
      if (v === 'champion') {
        const model = await this.registry.findModelByName(name);
        if (!model) throw new ServingError(`model '${name}' does not exist`, 404, 'unknown_model');
        if (!model.championVersion) throw new ServingError(`model '${name}' has no champion`, 404, 'no_version');
        v = model.championVersion;
      }
      return await replica.target(name, v, call.header);
    } catch (err) {
      throw rejected(err);
    }
  }

  /**
   * Runs a request on its target and records it, whatever happens. One promise from the decoded body to the
   * answer: every promise on this path costs time, and with AsyncLocalStorage in use (the Nest pipeline's request
   * scope) each one also runs an async hook.
   */
  private execute<T>(
    call: CallInfo,
    target: Target,
    endpoint: 'v1' | 'v2',
    started: { at: Date; t0: number },
    decode: () => { rows: number; columns: Record<string, ColumnData> },
    encode: (outputs: Record<string, RawOutput>, rows: number) => T,
  ): Promise<T> {
    const done: Completion = { endpoint, requestId: call.requestId, receivedAt: started.at, startedAt: started.t0, status: 200 };
    return new Promise<T>((resolve, reject) => {
      const finish = (err: unknown, value?: T) => {
        if (err !== undefined) {
          done.status = statusOf(err);
          done.error = (err as Error).message;
          done.outputs = undefined;
        }
        done.finishedAt = performance.now();
        if (err !== undefined) reject(err);
        else resolve(value as T);
        // Metrics, traffic window, prediction log and shadow mirror once the answer is on its way: queued after the
        // settlement, this runs after the continuation of a caller that awaits this promise, which writes the
        // response. (process.nextTick would run first when this settles outside a microtask, as a batch does.)
        queueMicrotask(() => this.replica.complete(target, done));
      };
      let rows: number;
      try {
        const decoded = decode();
        rows = decoded.rows;
        done.rows = rows;
        done.columns = decoded.columns;
      } catch (err) {
        finish(err);
        return;
      }
      const ran = (err: unknown, outputs?: Record<string, RawOutput>) => {
        if (err) {
          finish(err);
          return;
        }
        done.outputs = outputs;
        let value: T;
        try {
          value = encode(outputs!, rows);
        } catch (encodeErr) {
          finish(encodeErr);
          return;
        }
        finish(undefined, value);
      };
      try {
        this.replica.run(target, done.columns, rows, ran);
      } catch (err) {
        ran(err); // still recorded (and the version released) by finish
      }
    });
  }

  /** POST /v2/models/{name}[/versions/{v}]/infer, with the body already read (readInferBody / decodeRawInferBody). */
  inferV2(call: CallInfo, name: string, version: number | undefined, body: InferBody, started = { at: new Date(), t0: performance.now() }): Promise<EncodedResponse> {
    return this.onTarget(call, name, version, 'v2', started, (target) => this.inferOn(call, target, body, started));
  }

  /**
   * Chooses the request's target, then answers on it. Not an async function: a routed request's answer is
   * execute()'s own promise (see execute); a named version waits for its target first.
   */
  private onTarget<T>(
    call: CallInfo,
    name: string,
    version: number | 'champion' | undefined,
    endpoint: 'v1' | 'v2',
    started: { at: Date; t0: number },
    answer: (target: Target) => Promise<T>,
  ): Promise<T> {
    let routed: Target | Promise<Target>;
    try {
      routed = this.target(call, name, version, endpoint, started);
    } catch (err) {
      return Promise.reject(err);
    }
    return routed instanceof Promise ? routed.then(answer) : answer(routed);
  }

  private inferOn(call: CallInfo, target: Target, body: InferBody, started: { at: Date; t0: number }): Promise<EncodedResponse> {
    const requestId = call.requestId;
    let requested: ReturnType<typeof decodeInferRequest>['outputs'] = [];
    let id: string | undefined;
    return this.execute(
      call,
      target,
      'v2',
      started,
      () => {
        const decoded = decodeInferRequest(body.header, body.binary, target.signature, { maxRows: this.config.serving.maxRowsPerRequest });
        requested = decoded.outputs;
        id = decoded.id;
        return decoded;
      },
      (outputs) => {
        const tensors: OutputTensor[] = target.signature.outputs.map((spec) => ({
          name: spec.name,
          datatype: spec.datatype,
          shape: outputs[spec.name].dims,
          data: outputs[spec.name].data,
        }));
        return encodeInferResponse({
          modelName: target.modelName,
          modelVersion: target.version,
          // The caller's id is echoed; without one the body carries the request ID, as the header does.
          id: id ?? requestId,
          parameters: requestId ? { request_id: requestId } : undefined,
          outputs: tensors,
          requested,
        });
      },
    );
  }

  /** POST /v1/models/{name}[/versions/{v}]/predict */
  predict(call: CallInfo, name: string, version: number | 'champion' | undefined, body: unknown, started = { at: new Date(), t0: performance.now() }): Promise<PredictResult> {
    return this.onTarget(call, name, version, 'v1', started, (target) => this.predictOn(call, target, body, started));
  }

  private predictOn(call: CallInfo, target: Target, body: unknown, started: { at: Date; t0: number }): Promise<PredictResult> {
    return this.execute(
      call,
      target,
      'v1',
      started,
      () => decodeRecords(body, target.signature.features, this.config.serving.maxRowsPerRequest),
      (outputs, rows) => {
        const plain: Record<string, ColumnData> = {};
        for (const [k, v] of Object.entries(outputs)) plain[k] = v.data;
        return {
          requestId: call.requestId,
          model: target.modelName,
          version: target.version,
          predictions: predictionsFromOutputs(target.signature, rows, plain),
        };
      },
    );
  }
}
