/**
 * Turns an upload request into one readable stream of the file's bytes, without buffering it:
 * - a raw body (`text/csv`, `application/x-ndjson`, `application/vnd.apache.parquet`, or
 *   `application/octet-stream` with `?format=`) is the request stream itself;
 * - `multipart/form-data` is parsed by busboy as it arrives, and the part named `file` is the stream.
 * The stream fails (and so nothing gets stored) when it carries no bytes or the client goes away midway; the size
 * limit is enforced downstream by ArtifactStore.putStreamContentAddressed. On failure `release()` detaches the
 * parser and drains what the client is still sending, so the error response can be delivered.
 */
import * as path from 'node:path';
import { Transform } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import type { Request } from 'express';
import { PayloadTooLargeError } from '../../libs/artifacts';
import { ApiException, badRequest } from '../common/api-error';
import type { DatasetFormat } from './datasets.views';

export const FORMAT_EXT: Record<DatasetFormat, string> = { csv: '.csv', jsonl: '.jsonl', parquet: '.parquet' };
export const FORMAT_CONTENT_TYPE: Record<DatasetFormat, string> = {
  csv: 'text/csv',
  jsonl: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
};

const FORMAT_BY_MEDIA_TYPE: Record<string, DatasetFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
  'application/jsonlines': 'jsonl',
  'application/vnd.apache.parquet': 'parquet',
  'application/x-parquet': 'parquet',
};

const FORMAT_BY_EXT: Record<string, DatasetFormat> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.parquet': 'parquet' };

export const UPLOAD_MEDIA_TYPES = [
  'text/csv',
  'application/x-ndjson',
  'application/jsonl',
  'application/vnd.apache.parquet',
  'application/octet-stream',
  'multipart/form-data',
];

const UNSUPPORTED =
  'send the file as the body with Content-Type text/csv, application/x-ndjson or application/vnd.apache.parquet ' +
  '(or application/octet-stream with ?format=csv|jsonl|parquet), or as multipart/form-data with one `file` field';

export interface UploadStream {
  stream: Readable;
  format: DatasetFormat;
  /** what to record as the snapshot's origin */
  origin: string;
  /** stop reading the request and drain what is left of it; call when storing failed */
  release(): void;
}

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0].trim().toLowerCase() || undefined;
}

/** Picks the format from ?format= and what the body says about itself; they must not disagree. */
export function resolveFormat(explicit: DatasetFormat | undefined, implied: DatasetFormat | undefined, saidBy: string): DatasetFormat | undefined {
  if (explicit && implied && explicit !== implied) {
    throw badRequest(`?format=${explicit} contradicts ${saidBy}, which says ${implied}; drop one of them`);
  }
  return explicit ?? implied;
}

/**
 * Counts the bytes flowing through; fails at the end if there were none, so an empty upload never reaches the
 * bucket (putStreamContentAddressed only stores what arrived completely).
 */
class NonEmptyGuard extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
  override _flush(done: (err?: Error | null) => void): void {
    done(this.bytes === 0 ? badRequest('the upload is empty: send the file’s bytes as the request body (or in the `file` field)') : null);
  }
}

/** Pipes `source` into `guard`, carrying errors (pipe() does not) and a client that disconnects midway. */
function feed(req: Request, source: Readable, guard: NonEmptyGuard): void {
  source.on('error', (err) => guard.destroy(err));
  source.pipe(guard);
  const aborted = () => {
    if (!req.complete) guard.destroy(badRequest('the client closed the connection before the upload was complete'));
  };
  req.once('close', aborted);
  guard.once('close', () => req.off('close', aborted));
}

function drain(req: Request, from?: Writable): void {
  if (from) req.unpipe(from);
  req.resume();
}

/** Validates the upload's headers and opens its byte stream. Throws 400/413/415 before anything is read. */
export async function openUpload(req: Request, explicitFormat: DatasetFormat | undefined, maxBytes: number): Promise<UploadStream> {
  if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
    throw new ApiException(415, `Content-Encoding ${req.headers['content-encoding']} is not supported: upload the file uncompressed`);
  }
  const type = mediaType(req.headers['content-type']);
  // The limit counts the file's bytes, not the form's: it is enforced downstream on the file stream itself.
  if (type === 'multipart/form-data') return openMultipart(req, explicitFormat);

  let format: DatasetFormat | undefined;
  if (!type) format = explicitFormat;
  else if (type === 'application/octet-stream') {
    format = explicitFormat;
    if (!format) throw new ApiException(415, 'application/octet-stream needs ?format=csv, ?format=jsonl or ?format=parquet');
  } else if (FORMAT_BY_MEDIA_TYPE[type]) format = resolveFormat(explicitFormat, FORMAT_BY_MEDIA_TYPE[type], `Content-Type ${type}`);
  else throw new ApiException(415, `Content-Type ${type} is not a data set format: ${UNSUPPORTED}`);
  if (!format) throw new ApiException(415, `no Content-Type: ${UNSUPPORTED}`);

  // A declared length over the limit is refused before a byte is read.
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (req.headers['content-length'] === '0') throw badRequest('the upload is empty: send the file’s bytes as the request body');

  const guard = new NonEmptyGuard();
  feed(req, req, guard);
  return { stream: guard, format, origin: 'upload', release: () => drain(req, guard) };
}

interface BusboyFileInfo {
  filename?: string;
  mimeType?: string;
}
/** A writable that emits 'file' (field, stream, info), 'error' and 'close'. */
type Busboy = Writable;
type BusboyFactory = (config: { headers: Request['headers']; limits?: Record<string, number> }) => Busboy;

/*
 * busboy is what multer (and so @nestjs/platform-express) parses multipart with; it has no types of its own and is
 * present as multer's dependency. It parses as bytes arrive and hands over each file part as a stream.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const busboy = require('busboy') as BusboyFactory;

function openMultipart(req: Request, explicitFormat: DatasetFormat | undefined): Promise<UploadStream> {
  let parser: Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 8, fields: 32, parts: 64, fieldSize: 64 * 1024, headerPairs: 64 } });
  } catch (err) {
    throw badRequest(`malformed multipart/form-data request: ${(err as Error).message}`);
  }
  return new Promise<UploadStream>((resolve, reject) => {
    let settled = false;
    let current: NonEmptyGuard | undefined;
    const fail = (err: Error) => {
      if (settled) {
        current?.destroy(err);
        return;
      }
      settled = true;
      drain(req, parser);
      reject(err);
    };
    parser.on('file', (field: string, file: Readable, info: BusboyFileInfo) => {
      if (settled || field !== 'file') {
        file.resume(); // only the first `file` part is the data set; skip anything else
        return;
      }
      const ext = path.extname(info.filename ?? '').toLowerCase();
      let format: DatasetFormat | undefined;
      try {
        const byType = FORMAT_BY_MEDIA_TYPE[mediaType(info.mimeType) ?? ''];
        format = resolveFormat(explicitFormat, byType ?? FORMAT_BY_EXT[ext], byType ? `the part's Content-Type ${info.mimeType}` : `the file name ${info.filename}`);
      } catch (err) {
        file.resume();
        fail(err as Error);
        return;
      }
      if (!format) {
        file.resume();
        fail(new ApiException(415, `cannot tell the format of '${info.filename ?? 'file'}' (${info.mimeType}): add ?format=csv|jsonl|parquet`));
        return;
      }
      settled = true;
      current = new NonEmptyGuard();
      feed(req, file, current);
      resolve({
        stream: current,
        format,
        origin: info.filename ? `upload (${path.basename(info.filename)})` : 'upload',
        release: () => drain(req, parser),
      });
    });
    parser.on('error', (err: Error) => fail(badRequest(`malformed multipart/form-data body: ${err.message}`)));
    parser.on('close', () => {
      if (!settled) fail(badRequest('the multipart/form-data body has no `file` field: send the data set as a field named `file`'));
    });
    req.once('close', () => {
      if (!req.complete) fail(badRequest('the client closed the connection before the upload was complete'));
    });
    req.pipe(parser);
  });
}
