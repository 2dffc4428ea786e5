import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import type { Request } from 'express';
import { PayloadTooLargeError } from '../../libs/artifacts';
import { ApiException } from '../common/api-error';
import { openUpload, resolveFormat } from './upload';

type FakeRequest = PassThrough & { headers: Record<string, string>; complete: boolean };

function fakeRequest(headers: Record<string, string>): FakeRequest {
  const req = new PassThrough() as FakeRequest;
  req.headers = headers;
  req.complete = false;
  req.on('end', () => (req.complete = true));
  return req;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ApiException ? err.getStatus() : err instanceof PayloadTooLargeError ? 413 : -1;
  }
  return undefined;
}

describe('resolveFormat', () => {
  it('takes ?format= or what the body says, and refuses a contradiction', () => {
    expect(resolveFormat('csv', undefined, 'x')).toBe('csv');
    expect(resolveFormat(undefined, 'parquet', 'x')).toBe('parquet');
    expect(resolveFormat('jsonl', 'jsonl', 'x')).toBe('jsonl');
    expect(() => resolveFormat('csv', 'parquet', 'Content-Type application/vnd.apache.parquet')).toThrow(/contradicts/);
  });
});

describe('openUpload (raw body)', () => {
  it('refuses, before reading, a declared length over the limit, an unknown type, octet-stream without format, and compression', async () => {
    const status = (headers: Record<string, string>, format?: 'csv') =>
      openUpload(fakeRequest(headers) as unknown as Request, format, 100).then(
        () => undefined,
        (err) => statusOf(() => {
          throw err;
        }),
      );
    expect(await status({ 'content-type': 'text/csv', 'content-length': '101' })).toBe(413);
    expect(await status({ 'content-type': 'application/xml' })).toBe(415);
    expect(await status({ 'content-type': 'application/octet-stream' })).toBe(415);
    expect(await status({})).toBe(415);
    expect(await status({ 'content-type': 'text/csv', 'content-encoding': 'gzip' })).toBe(415);
    expect(await status({ 'content-type': 'text/csv', 'content-length': '0' })).toBe(400);
    expect(await status({ 'content-type': 'application/octet-stream' }, 'csv')).toBeUndefined();
  });

  it('passes the bytes through as they arrive', async () => {
    const req = fakeRequest({ 'content-type': 'application/x-ndjson; charset=utf-8' });
    const upload = await openUpload(req as unknown as Request, undefined, 1000);
    expect(upload.format).toBe('jsonl');
    req.write('{"a":1}\n');
    req.end('{"a":2}\n');
    expect(await readAll(upload.stream)).toBe('{"a":1}\n{"a":2}\n');
  });

  it('fails an empty stream at its end, so nothing gets stored', async () => {
    const req = fakeRequest({ 'content-type': 'text/csv' });
    const upload = await openUpload(req as unknown as Request, undefined, 1000);
    req.end();
    await expect(readAll(upload.stream)).rejects.toThrow(/the upload is empty/);
  });

  it('fails the stream when the client goes away midway, instead of storing a truncated file', async () => {
    const req = fakeRequest({ 'content-type': 'text/csv' });
    const upload = await openUpload(req as unknown as Request, undefined, 1000);
    const reading = readAll(upload.stream);
    req.write('a,b\n1,');
    req.destroy(); // emits 'close' with complete = false
    await expect(reading).rejects.toThrow(/closed the connection/);
  });
});

describe('openUpload (multipart)', () => {
  function multipart(parts: { name: string; filename?: string; type?: string; body: string }[]): { boundary: string; body: string } {
    const boundary = 'XBOUNDARYX';
    const body =
      parts
        .map((p) =>
          [
            `--${boundary}`,
            `Content-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`,
            ...(p.type ? [`Content-Type: ${p.type}`] : []),
            '',
            p.body,
          ].join('\r\n'),
        )
        .join('\r\n') + `\r\n--${boundary}--\r\n`;
    return { boundary, body };
  }

  it('streams the `file` part, skipping other fields, with the format from the file name', async () => {
    const { boundary, body } = multipart([
      { name: 'comment', body: 'nightly' },
      { name: 'file', filename: 'penguins.csv', type: 'application/octet-stream', body: 'species,mass\nadelie,3750\n' },
    ]);
    const req = fakeRequest({ 'content-type': `multipart/form-data; boundary=${boundary}` });
    const opening = openUpload(req as unknown as Request, undefined, 1000);
    req.end(body);
    const upload = await opening;
    expect(upload).toMatchObject({ format: 'csv', origin: 'upload (penguins.csv)' });
    expect(await readAll(upload.stream)).toBe('species,mass\nadelie,3750\n');
  });

  it('refuses a form without a `file` field, and a file of unknown format', async () => {
    const none = multipart([{ name: 'comment', body: 'x' }]);
    const req = fakeRequest({ 'content-type': `multipart/form-data; boundary=${none.boundary}` });
    const opening = openUpload(req as unknown as Request, undefined, 1000);
    req.end(none.body);
    await expect(opening).rejects.toThrow(/no `file` field/);

    const unknown = multipart([{ name: 'file', filename: 'data.xlsx', type: 'application/vnd.ms-excel', body: 'x' }]);
    const req2 = fakeRequest({ 'content-type': `multipart/form-data; boundary=${unknown.boundary}` });
    const opening2 = openUpload(req2 as unknown as Request, undefined, 1000);
    req2.end(unknown.body);
    await expect(opening2).rejects.toThrow(/cannot tell the format/);
  });
});
