/**
 * The global guard: every route needs an API key unless it is `@Public()`, and the key's roles must include one the
 * route names in `@Roles(...)` — admin passes everywhere, and a route with neither decorator is admin-only, so a
 * forgotten annotation fails safe. No key, or one that is unknown, revoked or malformed: 401 with
 * `WWW-Authenticate: Bearer`. A known key without the role: 403 naming the roles the route needs.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { hasRole } from '../../../libs/contracts';
import type { Role } from '../../../libs/registry';
import { ApiException } from '../api-error';
import { contextOf, resolveCaller } from '../request-context';
import { routeOf } from '../route';
import { ApiKeyVerifier } from './api-key.verifier';
import { PUBLIC_KEY, ROLES_KEY } from './roles.decorator';

const HOW_TO_AUTHENTICATE = "send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'";

@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('auth');

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(ApiKeyVerifier) private readonly keys: ApiKeyVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const route = `${req.method} ${routeOf(req)}`;
    const { caller, credentials } = await resolveCaller(req, this.keys);
    const ctx = contextOf(req);
    if (ctx) ctx.caller = caller;

    if (credentials !== 'accepted') {
      // RFC 6750: say which scheme to use, and that a presented token was the problem.
      res.setHeader('WWW-Authenticate', credentials === 'rejected' ? 'Bearer realm="mlcycle", error="invalid_token"' : 'Bearer realm="mlcycle"');
      if (credentials === 'rejected') {
        this.logger.warn(`${route} → 401: an unknown, revoked or malformed API key [requestId=${ctx?.requestId}]`);
        throw new ApiException(401, `the API key is not valid (unknown, revoked or malformed): ${HOW_TO_AUTHENTICATE}`);
      }
      throw new ApiException(401, `${route} needs an API key: ${HOW_TO_AUTHENTICATE}`);
    }

    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [];
    if (!hasRole(caller, ...roles)) {
      const needed = [...new Set<Role>([...roles, 'admin'])];
      throw new ApiException(
        403,
        `${route} needs the role ${needed.join(' or ')}; the key of '${caller.id}' has ${caller.roles.length ? caller.roles.join(', ') : 'no roles'}`,
      );
    }
    return true;
  }
}
