import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { ServiceError } from '@temporalio/client';
import { ArtifactCorruptError, ArtifactNotFoundError, PayloadTooLargeError } from '../../libs/artifacts';
import { SpecValidationError } from '../../libs/ml/spec';
import { RegistryConflictError } from '../../libs/registry';
import { ApiException } from './api-error';
import { ApiExceptionFilter, toErrorBody } from './error.filter';
import { RequestContext } from './request-context';

describe('toErrorBody', () => {
  it('keeps an ApiException’s status, message and details', () => {
    const body = toErrorBody(new ApiException(400, 'fix the source', [{ path: 'source', message: 'bad' }]));
    expect(body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'fix the source', details: [{ path: 'source', message: 'bad' }] });
  });

  it('maps Nest’s own exceptions, including list-of-messages validation errors', () => {
    expect(toErrorBody(new NotFoundException('Cannot GET /x'))).toMatchObject({ statusCode: 404, error: 'Not Found', message: 'Cannot GET /x' });
    expect(toErrorBody(new BadRequestException(['a must be a string', 'b should not exist']))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'a must be a string; b should not exist',
      details: [{ message: 'a must be a string' }, { message: 'b should not exist' }],
    });
  });

  it('turns a spec validation error into 400 with every issue and the first in the message', () => {
    const body = toErrorBody(
      new SpecValidationError([
        { path: 'evaluation.primaryMetric', message: 'Required' },
        { path: 'split', message: 'train + validation + test must add up to 1' },
      ]),
    );
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'the model spec is invalid: evaluation.primaryMetric: Required (and 1 more problem, see details)',
      details: [
        { path: 'evaluation.primaryMetric', message: 'Required' },
        { path: 'split', message: 'train + validation + test must add up to 1' },
      ],
    });
  });

  it('maps registry conflicts to 409, oversize data to 413 and missing artifacts to 404', () => {
    expect(toErrorBody(new RegistryConflictError("a model named 'x' already exists"))).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(toErrorBody(new PayloadTooLargeError(10))).toMatchObject({ statusCode: 413, error: 'Payload Too Large', message: expect.stringContaining('10 bytes') });
    expect(toErrorBody(new ArtifactNotFoundError('models/sha256/abc.onnx'))).toMatchObject({ statusCode: 404, message: expect.stringContaining('models/sha256/abc.onnx') });
    expect(toErrorBody(new ArtifactCorruptError('k', 'a', 'b'))).toMatchObject({ statusCode: 500, log: 'error' });
  });

  it('explains body-parser failures', () => {
    const parse = Object.assign(new SyntaxError('Unexpected end of JSON input'), { type: 'entity.parse.failed', status: 400, expose: true });
    expect(toErrorBody(parse)).toEqual({ statusCode: 400, error: 'Bad Request', message: 'the request body is not valid JSON: Unexpected end of JSON input' });
    const big = Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413, expose: true, limit: 10485760 });
    expect(toErrorBody(big)).toMatchObject({ statusCode: 413, message: 'the request body is larger than the limit of 10485760 bytes' });
  });

  it('maps an unreachable Temporal to 503', () => {
    const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: '', metadata: {} });
    expect(toErrorBody(new ServiceError('Failed to start Workflow', { cause: grpc }))).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
  });

  it('hides everything else behind a 500 "internal error"', () => {
    expect(toErrorBody(new TypeError('cannot read properties of undefined (reading "secret")'))).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error',
      log: 'error',
    });
    expect(toErrorBody('a thrown string')).toMatchObject({ statusCode: 500, message: 'internal error' });
  });
});

describe('ApiExceptionFilter', () => {
  function host(res: Record<string, unknown>, req: Record<string, unknown> = { method: 'GET', url: '/x', headers: {} }): ArgumentsHost {
    return { switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }) } as unknown as ArgumentsHost;
  }

  function fakeResponse() {
    const res = {
      headersSent: false,
      statusCode: 200,
      body: undefined as unknown,
      status(code: number) {
        res.statusCode = code;
        return res;
      },
      json(body: unknown) {
        res.body = body;
        return res;
      },
      destroy: jest.fn(),
    };
    return res;
  }

  it('writes the error shape with the request ID and never a stack', () => {
    const filter = new ApiExceptionFilter();
    jest.spyOn(filter['logger'], 'error').mockImplementation(() => undefined);
    const res = fakeResponse();
    RequestContext.run({ requestId: 'rid-1', caller: { id: 'a', roles: ['admin'], via: 'api-key' } }, () => filter.catch(new Error('db exploded at /secret/path'), host(res)));
    expect(res.statusCode).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error', requestId: 'rid-1' });
    expect(JSON.stringify(res.body)).not.toMatch(/secret|exploded/);
  });

  it('breaks the connection when the response had already started', () => {
    const filter = new ApiExceptionFilter();
    jest.spyOn(filter['logger'], 'error').mockImplementation(() => undefined);
    const res = { ...fakeResponse(), headersSent: true };
    const err = new Error('stream failed');
    filter.catch(err, host(res));
    expect(res.destroy).toHaveBeenCalledWith(err);
    expect(res.body).toBeUndefined();
  });
});
