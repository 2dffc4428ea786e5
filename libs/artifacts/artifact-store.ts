/**
 * Immutable artifacts in MinIO (or any S3). Data and models are content-addressed (`<prefix>/sha256/<hash><ext>`):
 * a retried upload writes nothing new, and a reader can always check what it got. Files stream in and out, so a
 * 1 GB data set never sits in memory, and every read verifies the sha256 recorded at write time.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Transform, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as Minio from 'minio';
import type { AppConfig } from '../config';

export interface StoredObject {
  key: string;
  sha256: string;
  sizeBytes: number;
  contentType: string;
}

export class ArtifactCorruptError extends Error {
  constructor(readonly key: string, readonly expected: string, readonly actual: string) {
    super(`artifact ${key} is corrupt: expected sha256 ${expected}, read ${actual}`);
    this.name = 'ArtifactCorruptError';
  }
}

export class ArtifactNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`artifact ${key} does not exist`);
    this.name = 'ArtifactNotFoundError';
  }
}

const SHA_META = 'sha256';

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(new PayloadTooLargeError(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the data is larger than the configured limit of ${limit} bytes (MLCYCLE_UPLOAD_MAX_BYTES)`);
    this.name = 'PayloadTooLargeError';
  }
}

export async function sha256OfFile(filePath: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hasher = new HashingStream();
  // Drain into nothing: only the hash and the byte count are wanted.
  await pipeline(fs.createReadStream(filePath), hasher, new Writable({ write: (_chunk, _enc, done) => done() }));
  return { sha256: hasher.digest(), sizeBytes: hasher.bytes };
}

export class ArtifactStore {
  readonly client: Minio.Client;
  readonly bucket: string;

  constructor(config: AppConfig['s3']) {
    const url = new URL(config.endpoint);
    this.client = new Minio.Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
      useSSL: url.protocol === 'https:',
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: config.region,
      pathStyle: true,
    });
    this.bucket = config.bucket;
  }

  async ensureBucket(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket);
    } catch (err) {
      // Another process created it between our check and our call.
      const code = (err as { code?: string }).code;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
    }
  }

  async isReady(): Promise<boolean> {
    return this.client.bucketExists(this.bucket);
  }

  /** Metadata of an object, or null when absent. */
  async stat(key: string): Promise<{ sizeBytes: number; sha256?: string; contentType?: string } | null> {
    try {
      const s = await this.client.statObject(this.bucket, key);
      return { sizeBytes: s.size, sha256: s.metaData?.[SHA_META], contentType: s.metaData?.['content-type'] };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Uploads a local file under a content-addressed key; a second upload of the same bytes is a no-op. */
  async putFileContentAddressed(filePath: string, prefix: string, ext: string, contentType = 'application/octet-stream'): Promise<StoredObject> {
    const { sha256, sizeBytes } = await sha256OfFile(filePath);
    const key = `${prefix}/sha256/${sha256}${ext}`;
    const existing = await this.stat(key);
    if (!existing || existing.sha256 !== sha256) {
      await this.client.fPutObject(this.bucket, key, filePath, { 'Content-Type': contentType, [SHA_META]: sha256 });
    }
    return { key, sha256, sizeBytes, contentType };
  }

  /** Uploads bytes under a content-addressed key. */
  async putBytesContentAddressed(bytes: Uint8Array, prefix: string, ext: string, contentType: string): Promise<StoredObject> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `${prefix}/sha256/${sha256}${ext}`;
    const existing = await this.stat(key);
    if (!existing || existing.sha256 !== sha256) {
      await this.client.putObject(this.bucket, key, Buffer.from(bytes), bytes.byteLength, { 'Content-Type': contentType, [SHA_META]: sha256 });
    }
    return { key, sha256, sizeBytes: bytes.byteLength, contentType };
  }

  async putJsonContentAddressed(value: unknown, prefix: string): Promise<StoredObject> {
    return this.putBytesContentAddressed(Buffer.from(JSON.stringify(value, null, 2)), prefix, '.json', 'application/json');
  }

  /**
   * Streams `source` to a temporary file while hashing it (bounded by maxBytes), then stores it content-addressed.
   * Nothing is written to the bucket unless the whole stream arrived within the limit.
   */
  async putStreamContentAddressed(
    source: Readable,
    prefix: string,
    ext: string,
    opts: { tmpDir: string; maxBytes?: number; contentType?: string },
  ): Promise<StoredObject> {
    await fsp.mkdir(opts.tmpDir, { recursive: true });
    const tmp = path.join(opts.tmpDir, `upload-${randomUUID()}${ext}`);
    try {
      await pipeline(source, new HashingStream(opts.maxBytes), fs.createWriteStream(tmp));
      return await this.putFileContentAddressed(tmp, prefix, ext, opts.contentType);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** Downloads to a file, verifying the sha256; a corrupt or truncated download leaves no file behind. */
  async getToFile(key: string, filePath: string, expectedSha256?: string): Promise<{ sha256: string; sizeBytes: number }> {
    const expected = expectedSha256 ?? (await this.stat(key))?.sha256;
    await fsp.mkdir(path.dirname(filePath), { recursive: true });
    const tmp = `${filePath}.${randomUUID()}.part`;
    const hasher = new HashingStream();
    try {
      await pipeline(await this.open(key), hasher, fs.createWriteStream(tmp));
      const actual = hasher.digest();
      if (expected && actual !== expected) throw new ArtifactCorruptError(key, expected, actual);
      await fsp.rename(tmp, filePath);
      return { sha256: actual, sizeBytes: hasher.bytes };
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** Reads a small object fully (reports, profiles, models) and verifies it. */
  async getBytes(key: string, expectedSha256?: string): Promise<Buffer> {
    const expected = expectedSha256 ?? (await this.stat(key))?.sha256;
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(key)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (expected && actual !== expected) throw new ArtifactCorruptError(key, expected, actual);
    return bytes;
  }

  async getJson<T>(key: string, expectedSha256?: string): Promise<T> {
    return JSON.parse((await this.getBytes(key, expectedSha256)).toString('utf8')) as T;
  }

  /**
   * A verifying read stream for HTTP downloads: bytes flow as they arrive, and the stream errors at the end if
   * the content does not match its recorded hash, so the client sees a broken transfer instead of bad data.
   */
  async openVerified(key: string, expectedSha256?: string): Promise<Readable> {
    const expected = expectedSha256 ?? (await this.stat(key))?.sha256;
    const hash = createHash('sha256');
    const verify = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        const actual = hash.digest('hex');
        done(expected && actual !== expected ? new ArtifactCorruptError(key, expected, actual) : null);
      },
    });
    const source = await this.open(key);
    source.on('error', (err) => verify.destroy(err));
    return source.pipe(verify);
  }

  private async open(key: string): Promise<Readable> {
    try {
      return await this.client.getObject(this.bucket, key);
    } catch (err) {
      if (isNotFound(err)) throw new ArtifactNotFoundError(key);
      throw err;
    }
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchBucket';
}
