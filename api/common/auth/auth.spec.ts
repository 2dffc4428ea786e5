import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { ApiKey } from '../../../libs/registry';
import { ApiException } from '../api-error';
import { ANONYMOUS, contextOf, RequestIdentityMiddleware } from '../request-context';
import { ApiKeyVerifier, sameDigest } from './api-key.verifier';
import { apiKeyPrefix, BOOTSTRAP_IDENTITY, generateApiKey, hashApiKey, isReservedIdentity } from './api-keys';
import { AuthGuard } from './auth.guard';
import { Public, Roles } from './roles.decorator';

const ADMIN_KEY = 'bootstrap-admin-key-0123456789';

function row(key: string, patch: Partial<ApiKey> = {}): ApiKey {
  return {
    id: 'k1',
    identity: 'alice',
    keyHash: hashApiKey(key),
    prefix: apiKeyPrefix(key),
    roles: ['data-scientist'],
    createdBy: 'bootstrap-admin',
    createdAt: new Date(),
    revokedAt: null,
    ...patch,
  };
}

/** A registry stand-in holding rows by hash and counting lookups. */
function fakeStore(rows: ApiKey[] = []) {
  const byHash = new Map(rows.map((r) => [r.keyHash, r]));
  return {
    byHash,
    lookups: 0,
    failNext: false,
    async findApiKeyByHash(hash: string): Promise<ApiKey | null> {
      this.lookups++;
      if (this.failNext) {
        this.failNext = false;
        throw new Error('database down');
      }
      const found = byHash.get(hash);
      return found ? { ...found } : null;
    },
  };
}

describe('API keys', () => {
  it('are mlc_ + 32 random bytes, stored as sha256 and shown as a short prefix', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^mlc_[A-Za-z0-9_-]{43}$/);
    expect(generateApiKey()).not.toBe(key);
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(apiKeyPrefix(key)).toBe(key.slice(0, 12));
    expect(apiKeyPrefix(key).length).toBeLessThanOrEqual(16); // the column's width
  });

  it('cannot take identities the system writes itself', () => {
    for (const id of ['bootstrap-admin', 'Anonymous', 'system', 'system:training-pipeline']) expect(isReservedIdentity(id)).toBe(true);
    for (const id of ['alice', 'svc:scheduler', 'systematic']) expect(isReservedIdentity(id)).toBe(false);
  });
});

describe('sameDigest', () => {
  it('is true only for equal digests, wherever they differ', () => {
    const digest = hashApiKey(ADMIN_KEY);
    expect(sameDigest(digest, hashApiKey(ADMIN_KEY))).toBe(true);
    for (const at of [0, 31, 63]) {
      const other = digest.slice(0, at) + (digest[at] === '0' ? '1' : '0') + digest.slice(at + 1);
      expect(sameDigest(other, digest)).toBe(false);
    }
    expect(sameDigest(digest.slice(0, 63), digest)).toBe(false);
    expect(sameDigest('', '')).toBe(true);
  });
});

describe('ApiKeyVerifier', () => {
  let clock = 1_000;
  const now = () => clock;
  beforeEach(() => (clock = 1_000));

  it('knows the bootstrap key without asking the database', async () => {
    const store = fakeStore();
    const verifier = new ApiKeyVerifier(store, ADMIN_KEY, { now });
    expect(await verifier.callerForKey(ADMIN_KEY)).toEqual({ id: BOOTSTRAP_IDENTITY, roles: ['admin'], via: 'bootstrap' });
    expect(await verifier.callerForKey(`${ADMIN_KEY}x`)).toBeNull();
    expect(store.lookups).toBe(1); // only the wrong key was looked up
  });

  it('finds stored keys by hash, caches answers for the TTL, and sees a revocation once it expires', async () => {
    const key = generateApiKey();
    const store = fakeStore([row(key)]);
    const verifier = new ApiKeyVerifier(store, undefined, { now, ttlMs: 5_000 });
    expect(await verifier.callerForKey(key)).toEqual({ id: 'alice', roles: ['data-scientist'], via: 'api-key' });
    await Promise.all([1, 2, 3].map(() => verifier.callerForKey(key)));
    expect(store.lookups).toBe(1);

    store.byHash.get(hashApiKey(key))!.revokedAt = new Date(); // revoked by another replica
    clock += 4_999;
    expect(await verifier.callerForKey(key)).not.toBeNull();
    clock += 1;
    expect(await verifier.callerForKey(key)).toBeNull();
    expect(store.lookups).toBe(2);
  });

  it('answers at once, by hash, for keys whose lookup has settled and not expired or been forgotten', async () => {
    const key = generateApiKey();
    const hash = hashApiKey(key);
    const verifier = new ApiKeyVerifier(fakeStore([row(key)]), ADMIN_KEY, { now, ttlMs: 5_000 });
    expect(verifier.knownCaller(hashApiKey(ADMIN_KEY))).toEqual({ id: BOOTSTRAP_IDENTITY, roles: ['admin'], via: 'bootstrap' });
    expect(verifier.knownCaller(hash)).toBeUndefined(); // never looked up
    const pending = verifier.callerForKey(key);
    expect(verifier.knownCaller(hash)).toBeUndefined(); // lookup in flight
    await pending;
    expect(verifier.knownCaller(hash)).toEqual({ id: 'alice', roles: ['data-scientist'], via: 'api-key' });
    clock += 5_000;
    expect(verifier.knownCaller(hash)).toBeUndefined(); // expired: the next request looks it up again
    await verifier.callerForKey(key);
    verifier.forget(hash);
    expect(verifier.knownCaller(hash)).toBeUndefined();
    const unknown = generateApiKey();
    await verifier.callerForKey(unknown);
    expect(verifier.knownCaller(hashApiKey(unknown))).toBeNull(); // known to be no key of ours
  });

  it('makes one query for a burst of requests with a new key', async () => {
    const key = generateApiKey();
    const store = fakeStore([row(key)]);
    const verifier = new ApiKeyVerifier(store, undefined, { now });
    const callers = await Promise.all(Array.from({ length: 20 }, () => verifier.callerForKey(key)));
    expect(callers.every((c) => c?.id === 'alice')).toBe(true);
    expect(store.lookups).toBe(1);
  });

  it('forgets a key at once when told (revocation on this replica)', async () => {
    const key = generateApiKey();
    const store = fakeStore([row(key)]);
    const verifier = new ApiKeyVerifier(store, undefined, { now });
    expect(await verifier.callerForKey(key)).not.toBeNull();
    store.byHash.get(hashApiKey(key))!.revokedAt = new Date();
    verifier.forget(hashApiKey(key));
    expect(await verifier.callerForKey(key)).toBeNull();
  });

  it('caches unknown keys too, but never a failed lookup', async () => {
    const store = fakeStore();
    const verifier = new ApiKeyVerifier(store, undefined, { now });
    expect(await verifier.callerForKey('mlc_unknown')).toBeNull();
    expect(await verifier.callerForKey('mlc_unknown')).toBeNull();
    expect(store.lookups).toBe(1);

    const key = generateApiKey();
    store.byHash.set(hashApiKey(key), row(key));
    store.failNext = true;
    await expect(verifier.callerForKey(key)).rejects.toThrow(/database down/);
    expect(await verifier.callerForKey(key)).toMatchObject({ id: 'alice' });
  });

  it('drops roles it does not know', async () => {
    const key = generateApiKey();
    const verifier = new ApiKeyVerifier(fakeStore([row(key, { roles: ['reviewer', 'root' as never] })]), undefined, { now });
    expect((await verifier.callerForKey(key))?.roles).toEqual(['reviewer']);
  });
});

describe('AuthGuard', () => {
  class Routes {
    @Public() health(): void {}
    @Roles('data-scientist') create(): void {}
    @Roles('data-scientist', 'reviewer') read(): void {}
    @Roles('service') predict(): void {}
    unannotated(): void {}
  }

  const keys: Record<string, string> = {
    admin: ADMIN_KEY,
    scientist: generateApiKey(),
    reviewer: generateApiKey(),
    service: generateApiKey(),
  };
  const store = fakeStore([
    row(keys.scientist, { identity: 'alice', roles: ['data-scientist'] }),
    row(keys.reviewer, { identity: 'rita', roles: ['reviewer'] }),
    row(keys.service, { identity: 'svc', roles: ['service'] }),
  ]);
  const guard = new AuthGuard(new Reflector(), new ApiKeyVerifier(store, ADMIN_KEY));

  function call(handler: keyof Routes, key?: string): { run: Promise<boolean>; req: Request; headers: Record<string, string> } {
    const req = { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {}, route: { path: `/v1/${handler}` } } as unknown as Request;
    const headers: Record<string, string> = {};
    const res = { setHeader: (k: string, v: string) => (headers[k] = v) } as unknown as Response;
    new RequestIdentityMiddleware().use(req, res, () => undefined);
    const context = {
      getType: () => 'http',
      getHandler: () => Routes.prototype[handler],
      getClass: () => Routes,
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
    } as unknown as ExecutionContext;
    return { run: guard.canActivate(context), req, headers };
  }

  async function status(handler: keyof Routes, key?: string): Promise<number> {
    try {
      await call(handler, key).run;
      return 200;
    } catch (err) {
      if (err instanceof ApiException) return err.getStatus();
      throw err;
    }
  }

  it('lets anyone call a public route', async () => {
    expect(await status('health')).toBe(200);
    expect(await status('health', 'mlc_garbage')).toBe(200);
  });

  it('answers 401 with WWW-Authenticate: Bearer for no key or a bad one', async () => {
    const none = call('read');
    await expect(none.run).rejects.toMatchObject({ message: expect.stringMatching(/POST \/v1\/read needs an API key: send an API key as 'Authorization: Bearer <key>'/) });
    expect(none.headers['WWW-Authenticate']).toBe('Bearer realm="mlcycle"');
    const bad = call('read', 'mlc_not-a-key');
    await expect(bad.run).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/not valid/) });
    expect(bad.headers['WWW-Authenticate']).toBe('Bearer realm="mlcycle", error="invalid_token"');
    expect(contextOf(bad.req)?.caller).toEqual(ANONYMOUS);
  });

  it('checks roles: admin everywhere, a route without @Roles for admin only', async () => {
    const matrix: Record<keyof Routes, Record<string, number>> = {
      health: { admin: 200, scientist: 200, reviewer: 200, service: 200 },
      create: { admin: 200, scientist: 200, reviewer: 403, service: 403 },
      read: { admin: 200, scientist: 200, reviewer: 200, service: 403 },
      predict: { admin: 200, scientist: 403, reviewer: 403, service: 200 },
      unannotated: { admin: 200, scientist: 403, reviewer: 403, service: 403 },
    };
    const seen: Record<string, Record<string, number>> = {};
    for (const handler of Object.keys(matrix) as (keyof Routes)[]) {
      seen[handler] = {};
      for (const who of Object.keys(keys)) seen[handler][who] = await status(handler, keys[who]);
    }
    expect(seen).toEqual(matrix);
  });

  it('says which roles a route needs, and stores the caller for the rest of the request', async () => {
    await expect(call('create', keys.service).run).rejects.toMatchObject({
      status: 403,
      message: "POST /v1/create needs the role data-scientist or admin; the key of 'svc' has service",
    });
    const ok = call('create', keys.scientist);
    await expect(ok.run).resolves.toBe(true);
    expect(contextOf(ok.req)?.caller).toEqual({ id: 'alice', roles: ['data-scientist'], via: 'api-key' });
  });
});
