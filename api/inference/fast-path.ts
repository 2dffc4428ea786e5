/**
 * The inference data plane's fast path: POST /v2/models/{name}[/versions/{v}]/infer and
 * POST /v1/models/{name}[/versions/{v}]/predict answered straight from the Node HTTP server, ahead of Express and
 * Nest. Everything else (and these routes when MLCYCLE_INFERENCE_FAST_PATH=false) goes through Nest, where the
 * same routes are implemented and documented.
 *
 * Why: a prediction of a small model costs ~50 µs in onnxruntime; Express and Nest's pipeline (three middlewares,
 * two body parsers, guard, interceptors, filters, and the mutation audit's database write on every POST) cost
 * many times that per request, which held the API to a fraction of a bare node:http server's throughput
 * (bench/serving/RESULTS.md). Model servers keep their data plane lean for this reason.
 *
 * What it keeps from the pipeline, using the same functions: the request ID rule (X-Request-Id echoed, or a new
 * UUID), the API-key check (`resolveCallerNow` with the app's ApiKeyVerifier, then `hasRole` with the inference roles;
 * 401 with WWW-Authenticate, 403 naming the roles), the JSON body limit, and each API's error shape (OIP
 * `{"error"}` on /v2, the app's `{statusCode, error, message, details?, requestId}` on /v1). Inference calls are
 * not mutation-audited: the prediction log is their record.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import { hasRole } from '../../libs/contracts';
import { OipError } from '../../libs/serving/oip';
import { RecordsError } from '../../libs/serving/records';
import { ServingError } from '../../libs/serving/replica';
import { reasonPhrase } from '../common/api-error';
import type { ErrorDetail } from '../common/api-error';
import type { KeyVerifier, PresentedCredentials, ResolvedCaller } from '../common/request-context';
import { API_KEY_HEADER, presentedCredentials, resolveCallerNow } from '../common/request-context';
import { decodeRawInferBody, INFERENCE_ROLES, MAX_RAW_INFER_BYTES, readBody } from './inference.service';
import type { CallInfo, InferenceService } from './inference.service';
import { send } from './oip.controller';

type Api = 'v1' | 'v2';

interface Route {
  api: Api;
  name: string;
  version?: string;
}

/** Paths whose route (or absence of one) is remembered; past this many distinct ones, the memo starts over. */
const ROUTE_MEMO_SIZE = 1024;

const INFER_PATH = /^\/v2\/models\/([a-z0-9][a-z0-9-]{0,62})(?:\/versions\/([1-9][0-9]{0,8}))?\/infer\/?$/;
const PREDICT_PATH = /^\/v1\/models\/([a-z0-9][a-z0-9-]{0,62})(?:\/versions\/([1-9][0-9]{0,8}|champion))?\/predict\/?$/;

/** The app's JSON body limit (api/common/body-parsers.ts); binary-extension bodies may be larger. */
const MAX_JSON_BYTES = 10 * 1024 * 1024;

// The same rule as the app's request-ID middleware (api/common/request-context.ts): printable ASCII, ≤ 128 chars.
const SAFE_TOKEN = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;

const HOW_TO_AUTHENTICATE = "send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'";

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** An error answered in the shape of the API it happened on. */
class FastPathError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }
}

function sendError(res: ServerResponse, api: Api, requestId: string, err: FastPathError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload =
    api === 'v2'
      ? { error: err.message }
      : { statusCode: err.status, error: reasonPhrase(err.status), message: err.message, ...(err.details ? { details: err.details } : {}), requestId };
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  res.statusCode = err.status;
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  if (err.status === 503) res.setHeader('Retry-After', '1');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(body.length));
  res.end(body);
}

export class InferFastPath {
  private readonly logger = new Logger('inference');
  /**
   * What each keep-alive connection last presented: its credential headers as sent, the key they name and its hash.
   * A client sends the same headers on every request, and parsing and hashing them again would be most of what
   * checking a cached key costs. Kept per connection, so no key outlives its socket.
   */
  private readonly presented = new WeakMap<Socket, PresentedCredentials & { authorization?: string; apiKey?: string | string[] }>();
  /** routes of recently seen paths (bounded): clients call the same few URLs over and over */
  private readonly routes = new Map<string, Route | null>();

  constructor(
    private readonly inference: InferenceService,
    private readonly keys: KeyVerifier,
  ) {}

  /** Puts the fast path in front of the server's request handler (Express); other requests pass through untouched. */
  install(server: Server): void {
    const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const route = req.method === 'POST' ? this.route(req.url) : undefined;
      if (route) this.handle(req, res, route);
      else for (const h of handlers) h.call(server, req, res);
    });
  }

  private route(url: string | undefined): Route | undefined {
    if (!url) return undefined;
    let route = this.routes.get(url);
    if (route === undefined) {
      route = routeOf(url);
      if (this.routes.size >= ROUTE_MEMO_SIZE) this.routes.clear();
      this.routes.set(url, route);
    }
    return route ?? undefined;
  }

  /**
   * Answers one request. Callbacks from the socket to the answer, with the one promise of the inference itself
   * (InferenceService.execute): each promise on this path costs time, and with the Nest pipeline's AsyncLocalStorage
   * in use, an async hook as well.
   */
  handle(req: IncomingMessage, res: ServerResponse, route: Route): void {
    const started = { at: new Date(), t0: performance.now() };
    const given = header(req, 'x-request-id')?.trim();
    const requestId = given && SAFE_TOKEN.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const fail = (err: unknown) => this.fail(req, res, route.api, requestId, err);
    try {
      const authorized = this.authorize(req, route.api, route.version !== undefined);
      if (authorized) authorized.then(() => this.serve(req, res, route, requestId, started, fail), fail);
      else this.serve(req, res, route, requestId, started, fail);
    } catch (err) {
      fail(err);
    }
  }

  /** Reads the body and answers it, once the caller is known to be allowed. */
  private serve(req: IncomingMessage, res: ServerResponse, route: Route, requestId: string, started: { at: Date; t0: number }, fail: (err: unknown) => void): void {
    const { api, name, version } = route;
    const call: CallInfo = { requestId, header: (h) => header(req, h) };
    const headerLength = api === 'v2' ? header(req, 'inference-header-content-length') : undefined;
    // A throw while writing the answer becomes the error answer (or a reset), never an unhandled rejection.
    const respond = (write: () => void) => {
      try {
        write();
      } catch (err) {
        fail(err);
      }
    };
    readBody(req, headerLength === undefined ? MAX_JSON_BYTES : MAX_RAW_INFER_BYTES, (readErr, raw) => {
      if (readErr) {
        fail(readErr);
        return;
      }
      try {
        if (api === 'v2') {
          const decoded = decodeRawInferBody(raw!, header(req, 'content-encoding'), headerLength);
          const v = version === undefined ? undefined : Number(version);
          const answer = decoded instanceof Promise ? decoded.then((body) => this.inference.inferV2(call, name, v, body, started)) : this.inference.inferV2(call, name, v, decoded, started);
          answer.then((result) => respond(() => send(res, result)), fail);
          return;
        }
        let body: unknown;
        try {
          body = raw!.length ? JSON.parse(raw!.toString('utf8')) : undefined;
        } catch (err) {
          throw new FastPathError(400, `the request body is not valid JSON: ${(err as Error).message}`);
        }
        const ref = version === undefined ? undefined : version === 'champion' ? 'champion' : Number(version);
        this.inference.predict(call, name, ref, body, started).then(
          (result) =>
            respond(() => {
              const out = Buffer.from(JSON.stringify(result), 'utf8');
              res.statusCode = 200;
              res.setHeader('X-Model-Version', String(result.version));
              res.setHeader('Content-Type', 'application/json; charset=utf-8');
              res.setHeader('Content-Length', String(out.length));
              res.end(out);
            }),
          fail,
        );
      } catch (err) {
        fail(err);
      }
    });
  }

  private fail(req: IncomingMessage, res: ServerResponse, api: Api, requestId: string, err: unknown): void {
    const known = toFastPathError(err);
    if (known) {
      if (known.status === 401 || known.status === 403 || known.status === 413) req.resume();
      sendError(res, api, requestId, known);
      return;
    }
    this.logger.error(`POST ${req.url} failed [requestId=${requestId}]: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    sendError(res, api, requestId, new FastPathError(500, 'internal error'));
  }

  /**
   * The auth guard's rule for these routes (resolveCaller's, then the roles): a valid key with an inference role
   * (admin passes everywhere). Synchronous when the key's answer is already cached, a promise when it needs a lookup.
   */
  private authorize(req: IncomingMessage, api: Api, versioned: boolean): Promise<void> | undefined {
    const resolved = resolveCallerNow(req as Request, this.keys, this.credentialsOf(req));
    if (resolved instanceof Promise) return resolved.then((r) => this.admit(r, api, versioned));
    this.admit(resolved, api, versioned);
    return undefined;
  }

  /** presentedCredentials, read again only when the connection's credential headers changed. */
  private credentialsOf(req: IncomingMessage): PresentedCredentials {
    const authorization = req.headers.authorization;
    const apiKey = req.headers[API_KEY_HEADER];
    let memo = this.presented.get(req.socket);
    if (!memo || memo.authorization !== authorization || memo.apiKey !== apiKey) {
      memo = { ...presentedCredentials(req as Request), authorization, apiKey };
      this.presented.set(req.socket, memo);
    }
    return memo;
  }

  private admit({ caller, credentials }: ResolvedCaller, api: Api, versioned: boolean): void {
    if (credentials !== 'accepted') {
      const rejected = credentials === 'rejected';
      const route = api === 'v2' ? `POST /v2/models/{name}${versioned ? '/versions/{version}' : ''}/infer` : `POST /v1/models/{name}${versioned ? '/versions/{version}' : ''}/predict`;
      throw new FastPathError(401, rejected ? `the API key is not valid (unknown, revoked or malformed): ${HOW_TO_AUTHENTICATE}` : `${route} needs an API key: ${HOW_TO_AUTHENTICATE}`, {
        // RFC 6750, as the app's guard answers
        'WWW-Authenticate': rejected ? 'Bearer realm="mlcycle", error="invalid_token"' : 'Bearer realm="mlcycle"',
      });
    }
    if (!hasRole(caller, ...INFERENCE_ROLES)) {
      throw new FastPathError(
        403,
        `inference needs the role ${[...INFERENCE_ROLES, 'admin'].join(' or ')}; the key of '${caller.id}' has ${caller.roles.length ? caller.roles.join(', ') : 'no roles'}`,
      );
    }
  }
}

/** The fast path's route for a request URL, or null for a request it leaves to Nest. */
function routeOf(url: string): Route | null {
  const path = url.split('?', 1)[0];
  const m = path.startsWith('/v2/') ? INFER_PATH.exec(path) : path.startsWith('/v1/') && path.endsWith('predict') ? PREDICT_PATH.exec(path) : null;
  return m ? { api: path.startsWith('/v2/') ? 'v2' : 'v1', name: m[1], version: m[2] } : null;
}

function toFastPathError(err: unknown): FastPathError | undefined {
  if (err instanceof FastPathError) return err;
  if (err instanceof OipError || err instanceof ServingError) return new FastPathError(err.status, err.message);
  if (err instanceof RecordsError) return new FastPathError(err.status, err.message, {}, err.problems.length ? err.problems.map((p) => ({ ...p })) : undefined);
  return undefined;
}
