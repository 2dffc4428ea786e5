/**
 * The artifact store against real MinIO: content addressing makes writes idempotent, every read verifies the
 * sha256 recorded at write time, and an upload over the limit stores nothing.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { ArtifactCorruptError, ArtifactNotFoundError, ArtifactStore, PayloadTooLargeError } from '../../libs/artifacts';
import { testServers } from '../support';

let store: ArtifactStore;
let dir: string;

beforeAll(async () => {
  const { s3 } = testServers();
  store = new ArtifactStore({ ...s3, bucket: `artifacts-${randomUUID().slice(0, 8)}` });
  await store.ensureBucket();
  await store.ensureBucket(); // a second start finds the bucket
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-artifacts-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const item of store.client.listObjectsV2(store.bucket, prefix, true)) if (item.name) out.push(item.name);
  return out;
}

test('the same bytes stored twice are one object under their sha256', async () => {
  const bytes = Buffer.from('a,b\n1,2\n');
  const sha = createHash('sha256').update(bytes).digest('hex');
  const first = await store.putBytesContentAddressed(bytes, 'datasets', '.csv', 'text/csv');
  const second = await store.putStreamContentAddressed(Readable.from([bytes]), 'datasets', '.csv', { tmpDir: dir });
  expect(first).toEqual({ key: `datasets/sha256/${sha}.csv`, sha256: sha, sizeBytes: bytes.length, contentType: 'text/csv' });
  expect(second.key).toBe(first.key);
  expect(await keys('datasets/')).toEqual([first.key]);
  expect((await store.getBytes(first.key)).equals(bytes)).toBe(true);
});

test('a file streams in and out with its hash checked, and a corrupted object is refused on read', async () => {
  const file = path.join(dir, 'big.bin');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  fs.writeFileSync(file, Buffer.concat(Array.from({ length: 24 }, () => chunk)));
  const stored = await store.putFileContentAddressed(file, 'blobs', '.bin');
  const copy = path.join(dir, 'copy.bin');
  expect(await store.getToFile(stored.key, copy)).toEqual({ sha256: stored.sha256, sizeBytes: 24 * 1024 * 1024 });

  // Someone overwrites the object behind our back, keeping the recorded hash in its metadata.
  await store.client.putObject(store.bucket, stored.key, Buffer.from('tampered'), 8, { sha256: stored.sha256 });
  await expect(store.getBytes(stored.key)).rejects.toBeInstanceOf(ArtifactCorruptError);
  const target = path.join(dir, 'never.bin');
  await expect(store.getToFile(stored.key, target)).rejects.toBeInstanceOf(ArtifactCorruptError);
  expect(fs.existsSync(target)).toBe(false); // no half-written file left behind
  const verified = await store.openVerified(stored.key);
  await expect((async () => { for await (const _ of verified) { /* drain */ } })()).rejects.toBeInstanceOf(ArtifactCorruptError);
});

test('an upload over the limit fails and stores nothing', async () => {
  const before = await keys('uploads/');
  const big = Readable.from([Buffer.alloc(4096), Buffer.alloc(4096)]);
  await expect(store.putStreamContentAddressed(big, 'uploads', '.csv', { tmpDir: dir, maxBytes: 5000 })).rejects.toBeInstanceOf(PayloadTooLargeError);
  expect(await keys('uploads/')).toEqual(before);
  expect(fs.readdirSync(dir).filter((f) => f.startsWith('upload-'))).toEqual([]);
});

test('a missing object is a clear not-found', async () => {
  await expect(store.getBytes('models/sha256/none.onnx')).rejects.toBeInstanceOf(ArtifactNotFoundError);
  expect(await store.stat('models/sha256/none.onnx')).toBeNull();
});
