import type { ArgumentMetadata } from '@nestjs/common';
import { AuditQuery } from '../audit/audit.controller';
import { UploadQuery } from '../datasets/datasets.dto';
import { ListQuery, StartRunBody } from '../runs/runs.dto';
import { ApiException } from './api-error';
import { createValidationPipe, ModelNamePipe, UuidPipe, VersionRefPipe } from './validation';

const pipe = createValidationPipe();

async function validate(metatype: new () => object, value: unknown, type: ArgumentMetadata['type'] = 'body'): Promise<unknown> {
  return pipe.transform(value, { type, metatype, data: undefined });
}

async function rejection(promise: Promise<unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException;
    return { status: e.getStatus(), body: e.getResponse() as Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

describe('DTO validation', () => {
  it('accepts a run body with or without a source', async () => {
    await expect(validate(StartRunBody, { source: 'dataset:abc' })).resolves.toEqual({ source: 'dataset:abc' });
    await expect(validate(StartRunBody, undefined)).resolves.toEqual({});
  });

  it('refuses unknown fields and wrong types, naming each field', async () => {
    const { status, body } = await rejection(validate(StartRunBody, { source: 7, priority: 'high' }));
    expect(status).toBe(400);
    expect(body.details).toEqual(
      expect.arrayContaining([
        { path: 'priority', message: 'property priority should not exist' },
        { path: 'source', message: 'source must be a string' },
      ]),
    );
    expect(body.message).toMatch(/^invalid request: .* \(and \d+ more, see details\)$/);
  });

  it('refuses an empty source string', async () => {
    const { body } = await rejection(validate(StartRunBody, { source: '' }));
    expect(body.details).toEqual([{ path: 'source', message: expect.stringMatching(/cannot be empty/) }]);
  });

  it('converts and bounds list limits from the query string', async () => {
    await expect(validate(ListQuery, { limit: '25' }, 'query')).resolves.toEqual({ limit: 25 });
    expect((await rejection(validate(ListQuery, { limit: 'ten' }, 'query'))).body.message).toMatch(/limit must be an integer/);
    expect((await rejection(validate(ListQuery, { limit: '0' }, 'query'))).body.message).toMatch(/at least 1/);
    expect((await rejection(validate(AuditQuery, { limit: '5000' }, 'query'))).body.message).toMatch(/at most 1000/);
  });

  it('accepts only known upload formats', async () => {
    await expect(validate(UploadQuery, { format: 'parquet' }, 'query')).resolves.toEqual({ format: 'parquet' });
    expect((await rejection(validate(UploadQuery, { format: 'xlsx' }, 'query'))).body.details).toEqual([
      { path: 'format', message: 'format must be one of csv, jsonl, parquet' },
    ]);
  });
});

describe('path parameter pipes', () => {
  const meta = (data: string): ArgumentMetadata => ({ type: 'param', data });

  it('model names follow the spec’s rule', () => {
    expect(new ModelNamePipe().transform('penguins-2')).toBe('penguins-2');
    expect(() => new ModelNamePipe().transform('Penguins')).toThrow(/is not a model name/);
    expect(() => new ModelNamePipe().transform('-x')).toThrow(ApiException);
  });

  it('ids must be UUIDs, and the message names which id', () => {
    const pipe = new UuidPipe('run id');
    expect(pipe.transform('3F2B8C1E-7D4A-4B6F-9E0A-1C2D3E4F5A6B', meta('id'))).toBe('3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b');
    expect(() => pipe.transform('42', meta('id'))).toThrow("'42' is not a valid run id");
  });

  it('versions are positive integers or champion', () => {
    const pipe = new VersionRefPipe();
    expect(pipe.transform('3')).toBe(3);
    expect(pipe.transform('champion')).toBe('champion');
    for (const bad of ['0', '-1', '1.5', 'latest', '01', '9999999999']) expect(() => pipe.transform(bad)).toThrow(ApiException);
  });
});
