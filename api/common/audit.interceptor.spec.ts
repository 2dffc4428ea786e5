import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { lastValueFrom, of, throwError } from 'rxjs';
import type { AuditEntry } from '../../libs/registry';
import { auditTarget, MutationAuditInterceptor, NotAudited } from './audit.interceptor';
import { contextOf, RequestIdentityMiddleware } from './request-context';
import { routeOf } from './route';

describe('routeOf and auditTarget', () => {
  it('writes the matched route as the OpenAPI document does', () => {
    expect(routeOf({ route: { path: '/v1/models/:name/runs' }, originalUrl: '/v1/models/x/runs?y=1' } as unknown as Request)).toBe('/v1/models/{name}/runs');
    expect(routeOf({ originalUrl: '/v1/nothing?y=1' } as unknown as Request)).toBe('/v1/nothing');
  });

  it('names the entity from the route parameters, or from what the call created', () => {
    expect(auditTarget('/v1/models/{name}/runs', { name: 'penguins' }, { runId: 'r1' })).toEqual({ entityType: 'model', entityId: 'penguins' });
    expect(auditTarget('/v1/models/{name}/spec', { name: 'penguins' }, {})).toEqual({ entityType: 'model', entityId: 'penguins' });
    expect(auditTarget('/v1/api-keys/{id}', { id: 'abc' }, {})).toEqual({ entityType: 'api_key', entityId: 'abc' });
    expect(auditTarget('/v1/models/{name}/versions/{version}/approve', { name: 'p', version: '3' }, {})).toEqual({ entityType: 'model_version', entityId: 'p@3' });
    expect(auditTarget('/v1/models', {}, { id: 'uuid', name: 'penguins' })).toEqual({ entityType: 'model', entityId: 'penguins' });
    expect(auditTarget('/v1/api-keys', {}, { id: 'k1', key: 'secret' })).toEqual({ entityType: 'api_key', entityId: 'k1' });
    expect(auditTarget('/v1/things', {}, undefined)).toEqual({ entityType: 'thing', entityId: '/v1/things' });
  });
});

describe('MutationAuditInterceptor', () => {
  class Routes {
    create(): void {}
    @NotAudited('a read at request rates') predict(): void {}
  }

  function setup(fail = false) {
    const written: AuditEntry[] = [];
    const registry = {
      async appendAudit(entry: AuditEntry) {
        if (fail) throw new Error('database down');
        written.push(entry);
      },
    };
    const interceptor = new MutationAuditInterceptor(registry, new Reflector());
    const logged: string[] = [];
    jest.spyOn(interceptor['logger'], 'error').mockImplementation((m: string) => void logged.push(m));
    const run = (method: string, handler: keyof Routes, result: Promise<unknown> | unknown) => {
      const req = { method, headers: { 'x-request-id': 'rid-7' }, route: { path: '/v1/models/:name/runs' }, params: { name: 'penguins' }, originalUrl: '/v1/models/penguins/runs?x=1' } as unknown as Request;
      const res = { statusCode: 202, setHeader: () => undefined } as unknown as Response;
      new RequestIdentityMiddleware().use(req, res, () => undefined);
      contextOf(req)!.caller = { id: 'alice', roles: ['data-scientist'], via: 'api-key' };
      const context = {
        getType: () => 'http',
        getHandler: () => Routes.prototype[handler],
        getClass: () => Routes,
        switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
      } as unknown as ExecutionContext;
      const next: CallHandler = { handle: () => (result instanceof Error ? throwError(() => result) : of(result)) };
      return lastValueFrom(interceptor.intercept(context, next));
    };
    return { written, logged, run };
  }

  it('writes one event per successful mutating call, with the caller, route, entity, request ID and status', async () => {
    const { written, run } = setup();
    expect(await run('POST', 'create', { runId: 'r1' })).toEqual({ runId: 'r1' });
    expect(written).toEqual([
      {
        actor: 'alice',
        action: 'http.POST /v1/models/{name}/runs',
        entityType: 'model',
        entityId: 'penguins',
        details: { requestId: 'rid-7', status: 202, path: '/v1/models/penguins/runs', via: 'api-key' },
      },
    ]);
  });

  it('skips reads, failures and @NotAudited routes', async () => {
    const { written, run } = setup();
    await run('GET', 'create', {});
    await expect(run('POST', 'create', new Error('refused'))).rejects.toThrow('refused');
    await run('POST', 'predict', {});
    expect(written).toEqual([]);
  });

  it('still answers when the event cannot be written, and logs the whole event instead', async () => {
    const { logged, run } = setup(true);
    expect(await run('DELETE', 'create', { ok: true })).toEqual({ ok: true });
    expect(logged).toEqual([expect.stringMatching(/could not write the audit event .*"actor":"alice".*database down/)]);
  });
});
