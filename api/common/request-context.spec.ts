import type { Request, Response } from 'express';
import { isStreamedUploadRoute } from './body-parsers';
import { ANONYMOUS, contextOf, presentedKey, RequestContext, RequestIdentityMiddleware, RequestScopeMiddleware, resolveCaller } from './request-context';
import type { Caller, KeyVerifier } from './request-context';

function fakeRequest(headers: Record<string, string> = {}): Request {
  return { headers } as unknown as Request;
}

const alice: Caller = { id: 'alice', roles: ['data-scientist'], via: 'api-key' };
const keys: KeyVerifier & { asked: string[] } = {
  asked: [],
  async callerForKey(key) {
    this.asked.push(key);
    return key === 'mlc_alice' ? alice : null;
  },
};

describe('caller identity', () => {
  beforeEach(() => (keys.asked = []));

  it('comes from Authorization: Bearer or X-Api-Key', async () => {
    expect(await resolveCaller(fakeRequest({ authorization: 'Bearer mlc_alice' }), keys)).toEqual({ caller: alice, credentials: 'accepted' });
    expect(await resolveCaller(fakeRequest({ authorization: 'bearer   mlc_alice ' }), keys)).toEqual({ caller: alice, credentials: 'accepted' });
    expect(await resolveCaller(fakeRequest({ 'x-api-key': 'mlc_alice' }), keys)).toEqual({ caller: alice, credentials: 'accepted' });
    expect(await resolveCaller(fakeRequest({ authorization: 'Bearer mlc_alice', 'x-api-key': 'mlc_alice' }), keys)).toMatchObject({ credentials: 'accepted' });
  });

  it('is anonymous without a key, and rejected for an unknown one', async () => {
    expect(await resolveCaller(fakeRequest(), keys)).toEqual({ caller: ANONYMOUS, credentials: 'none' });
    expect(await resolveCaller(fakeRequest({ authorization: 'Bearer mlc_mallory' }), keys)).toEqual({ caller: ANONYMOUS, credentials: 'rejected' });
  });

  it('never trusts the old X-Mlcycle-Actor header', async () => {
    expect(await resolveCaller(fakeRequest({ 'x-mlcycle-actor': 'admin' }), keys)).toEqual({ caller: ANONYMOUS, credentials: 'none' });
    expect((await resolveCaller(fakeRequest({ 'x-mlcycle-actor': 'bob', 'x-api-key': 'mlc_alice' }), keys)).caller.id).toBe('alice');
  });

  it('rejects other schemes, two different keys and malformed keys without looking them up', async () => {
    expect(presentedKey(fakeRequest({ authorization: 'Basic YWxpY2U6cHc=' }))).toBeNull();
    expect(presentedKey(fakeRequest({ authorization: 'Bearer' }))).toBeNull();
    expect(presentedKey(fakeRequest({ authorization: 'Bearer a b' }))).toBeNull();
    expect(presentedKey(fakeRequest({ authorization: 'Bearer mlc_alice', 'x-api-key': 'mlc_bob' }))).toBeNull();
    expect(presentedKey(fakeRequest({ 'x-api-key': 'x'.repeat(513) }))).toBeNull();
    expect(presentedKey(fakeRequest({ 'x-api-key': 'caf\u00e9' }))).toBeNull();
    expect(presentedKey(fakeRequest({ 'x-api-key': '  ' }))).toBeUndefined();
    expect(await resolveCaller(fakeRequest({ authorization: 'Basic YWxpY2U6cHc=', 'x-api-key': 'mlc_alice' }), keys)).toMatchObject({ credentials: 'rejected' });
    expect(keys.asked).toEqual([]);
  });
});

describe('request context middleware', () => {
  it('tags the request, echoes the request ID, and runs the rest of the request inside the context', () => {
    const req = fakeRequest({ 'x-request-id': 'abc-123' });
    const headers: Record<string, string> = {};
    const res = { setHeader: (k: string, v: string) => (headers[k] = v) } as unknown as Response;
    const context = new RequestContext();
    let seen: { requestId?: string; actor: string } | undefined;

    new RequestIdentityMiddleware().use(req, res, () => undefined);
    expect(headers['X-Request-Id']).toBe('abc-123');
    expect(contextOf(req)).toEqual({ requestId: 'abc-123', caller: ANONYMOUS });
    // The auth guard stores the resolved caller in the same context object.
    contextOf(req)!.caller = alice;

    new RequestScopeMiddleware().use(req, res, () => {
      seen = { requestId: context.requestId, actor: context.actor };
      expect(context.identity).toEqual({ id: 'alice', roles: ['data-scientist'] });
    });
    expect(seen).toEqual({ requestId: 'abc-123', actor: 'alice' });
    expect(context.actor).toBe('system'); // outside any request
  });

  it('makes up a request ID when none (or an unusable one) is given', () => {
    const req = fakeRequest({ 'x-request-id': 'has spaces in it and\nnewlines' });
    const res = { setHeader: () => undefined } as unknown as Response;
    new RequestIdentityMiddleware().use(req, res, () => undefined);
    expect(contextOf(req)?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('isStreamedUploadRoute', () => {
  const route = (method: string, originalUrl: string) => isStreamedUploadRoute({ method, originalUrl, url: originalUrl });
  it('matches only POST /v1/models/{name}/datasets', () => {
    expect(route('POST', '/v1/models/penguins/datasets')).toBe(true);
    expect(route('POST', '/v1/models/penguins/datasets?format=csv')).toBe(true);
    expect(route('GET', '/v1/models/penguins/datasets')).toBe(false);
    expect(route('POST', '/v1/models')).toBe(false);
    expect(route('POST', '/v1/models/penguins/runs')).toBe(false);
  });
});
