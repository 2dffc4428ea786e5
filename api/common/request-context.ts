/**
 * Who is calling and which request this is, available anywhere during a request without request-scoped providers.
 *
 * The caller is decided in exactly one place, `resolveCallerNow` (`resolveCaller` awaits it): the API key in
 * `Authorization: Bearer <key>` (or `X-Api-Key`), looked up by its hash. The first middleware tags every request
 * with an anonymous caller; the auth guard (auth/auth.guard.ts), which knows whether the route is public and which
 * roles it needs, awaits `resolveCaller` and stores the result in the same context object, so every `owner`,
 * `requestedBy` and audit actor written later in the request is the key's identity.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { CallerIdentity } from '../../libs/contracts';
import type { Role } from '../../libs/registry';
import { API_KEY_SHAPE, hashApiKey } from './auth/api-keys';

export interface Caller {
  /** stable identity recorded as owner, requestedBy and audit actor */
  id: string;
  roles: Role[];
  /** how the identity was established: a stored key, the MLCYCLE_ADMIN_KEY, or not at all */
  via: 'api-key' | 'bootstrap' | 'anonymous';
}

export interface RequestContextData {
  requestId: string;
  /** anonymous until the auth guard has resolved the route's caller */
  caller: Caller;
}

export const REQUEST_ID_HEADER = 'x-request-id';
export const API_KEY_HEADER = 'x-api-key';

export const ANONYMOUS: Readonly<Caller> = Object.freeze({ id: 'anonymous', roles: Object.freeze([]) as unknown as Role[], via: 'anonymous' });

const storage = new AsyncLocalStorage<RequestContextData>();
const ON_REQUEST = Symbol('mlcycle.requestContext');

type RequestWithContext = Request & { [ON_REQUEST]?: RequestContextData };

// Printable ASCII without spaces at the edges, so an ID or actor can go into logs and headers unescaped.
const SAFE_TOKEN = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

/** Finds the caller for a presented key: a stored, unrevoked key or the bootstrap key; null for anything else. */
export interface KeyVerifier {
  callerForKey(key: string): Promise<Caller | null>;
  /**
   * The answer for a key by its hash (hashApiKey) when it is known now, without waiting: undefined when it would
   * need a lookup. Lets the inference fast path stay synchronous for a key it has just seen.
   */
  knownCaller?(keyHash: string): Caller | null | undefined;
}

/**
 * What the request presented: `none` (no key at all), `rejected` (a key that is malformed, unknown or revoked, or two
 * different keys), `accepted`.
 */
export type Credentials = 'none' | 'rejected' | 'accepted';

function headerValue(req: Request, name: string): string | undefined {
  const header = req.headers[name];
  return (Array.isArray(header) ? header[0] : header)?.trim() || undefined;
}

/** The key the request carries: `Authorization: Bearer <key>` or `X-Api-Key: <key>`; null when it is unusable. */
export function presentedKey(req: Request): string | null | undefined {
  const authorization = headerValue(req, 'authorization');
  const apiKey = headerValue(req, API_KEY_HEADER);
  let bearer: string | null | undefined;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    bearer = match ? match[1] : null; // another scheme (Basic, …) is not a key of ours
  }
  if (bearer === null) return null;
  if (bearer !== undefined && apiKey !== undefined && bearer !== apiKey) return null; // which one did they mean?
  const key = bearer ?? apiKey;
  if (key === undefined) return undefined;
  return API_KEY_SHAPE.test(key) ? key : null;
}

export interface ResolvedCaller {
  caller: Caller;
  credentials: Credentials;
}

const resolved = (caller: Caller | null): ResolvedCaller => (caller ? { caller, credentials: 'accepted' } : { caller: ANONYMOUS, credentials: 'rejected' });

/** What a request presented, as presentedKey reads it, with the key's hash when there is a key. */
export interface PresentedCredentials {
  key: string | null | undefined;
  hash?: string;
}

/** presentedKey and the key's hash, for a caller that keeps them (the inference fast path does, per connection). */
export function presentedCredentials(req: Request): PresentedCredentials {
  const key = presentedKey(req);
  return { key, hash: typeof key === 'string' ? hashApiKey(key) : undefined };
}

/**
 * The one place that decides who the caller is: at once when the verifier already knows the key, else after its
 * lookup. `presented` is what presentedCredentials read from this request's headers, when the caller has it.
 */
export function resolveCallerNow(req: Request, keys: KeyVerifier, presented?: PresentedCredentials): ResolvedCaller | Promise<ResolvedCaller> {
  const key = presented ? presented.key : presentedKey(req);
  if (key === undefined) return { caller: ANONYMOUS, credentials: 'none' };
  if (key === null) return resolved(null);
  const known = keys.knownCaller?.(presented?.hash ?? hashApiKey(key));
  return known !== undefined ? resolved(known) : keys.callerForKey(key).then(resolved);
}

export async function resolveCaller(req: Request, keys: KeyVerifier): Promise<ResolvedCaller> {
  return resolveCallerNow(req, keys);
}

function requestIdOf(req: Request): string {
  const header = req.headers[REQUEST_ID_HEADER];
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return value && value.length <= 128 && SAFE_TOKEN.test(value) ? value : randomUUID();
}

/** The context of a request, also when the AsyncLocalStorage scope was lost (e.g. in an exception filter). */
export function contextOf(req: Request): RequestContextData | undefined {
  return (req as RequestWithContext)[ON_REQUEST] ?? storage.getStore();
}

/**
 * First middleware: assigns the request ID (echoed in `X-Request-Id`) and an anonymous caller, which the auth guard
 * replaces once it knows the route. It only tags the request; `RequestScopeMiddleware` opens the AsyncLocalStorage
 * scope after the body parsers, because parsers resume in stream callbacks that do not carry the scope.
 */
@Injectable()
export class RequestIdentityMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const ctx: RequestContextData = { requestId: requestIdOf(req), caller: ANONYMOUS };
    (req as RequestWithContext)[ON_REQUEST] = ctx;
    res.setHeader('X-Request-Id', ctx.requestId);
    next();
  }
}

/** Last middleware: everything after it (guards, pipes, controllers, services) runs inside the request's scope. */
@Injectable()
export class RequestScopeMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    const tagged = req as RequestWithContext;
    const ctx = (tagged[ON_REQUEST] ??= { requestId: requestIdOf(req), caller: ANONYMOUS });
    storage.run(ctx, next);
  }
}

/** Injectable view of the current request's context; outside a request it reports a system caller. */
@Injectable()
export class RequestContext {
  get requestId(): string | undefined {
    return storage.getStore()?.requestId;
  }

  get caller(): Caller {
    return storage.getStore()?.caller ?? { id: 'system', roles: [], via: 'anonymous' };
  }

  /** The identity to record as owner, requestedBy or audit actor. */
  get actor(): string {
    return this.caller.id;
  }

  /**
   * The caller as workflows receive it: bind this into every signal and update sent on the caller's behalf, so the
   * workflow can re-check its rule (`hasRole` from libs/contracts) — Temporal itself does not authenticate senders.
   */
  get identity(): CallerIdentity {
    const { id, roles } = this.caller;
    return { id, roles: [...roles] };
  }

  /** Runs `fn` inside a context; for tests and for work started outside HTTP. */
  static run<T>(data: RequestContextData, fn: () => T): T {
    return storage.run(data, fn);
  }
}
