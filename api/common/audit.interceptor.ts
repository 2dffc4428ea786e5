/**
 * Every successful mutating call (POST, PUT, PATCH, DELETE) leaves an audit event with the caller's identity:
 * action `http.<METHOD> <route>`, the entity named by the route's parameters (or the created entity's name/id),
 * and the request ID and status in `details`. Domain events (`model.created`, `run.requested`, …) are still written
 * by the services, in the same transaction as the change; this one records the call itself, for routes that write
 * no event of their own too. It is written before the response leaves, so a client that reads the audit log after
 * an answer finds the event. A POST that changes nothing and comes at request rates (inference) opts out with
 * `@NotAudited('why')`.
 */
import { Inject, Injectable, Logger, SetMetadata } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { concatMap } from 'rxjs';
import type { Observable } from 'rxjs';
import { RegistryService } from '../../libs/registry';
import type { AuditEntry } from '../../libs/registry';
import { contextOf } from './request-context';
import { routeOf } from './route';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const NOT_AUDITED_KEY = 'mlcycle:not-audited';
/** Exempts a mutating-method route that changes nothing (e.g. POST …/predict) from the per-call audit event. */
export const NotAudited = (reason: string): MethodDecorator & ClassDecorator => SetMetadata(NOT_AUDITED_KEY, reason);

/** Column widths of audit_events. */
const ACTION_MAX = 64;
const ENTITY_TYPE_MAX = 32;
const ENTITY_ID_MAX = 200;

/** Collection segments whose entity type is spelled differently in the domain events. */
const ENTITY_TYPES: Record<string, string> = { versions: 'model_version', 'api-keys': 'api_key' };

function entityTypeOf(segment: string): string {
  return (ENTITY_TYPES[segment] ?? segment.replace(/s$/, '').replace(/-/g, '_')).slice(0, ENTITY_TYPE_MAX);
}

/**
 * The entity a call acted on, from its route: the last path parameter and the collection it follows
 * (`/v1/models/{name}/runs` → model `penguins`; `/v1/api-keys/{id}` → api_key `<id>`; a version is `<model>@<n>`
 * as in the domain events). A route without parameters names what it created, from the response's `name` or `id`.
 */
export function auditTarget(route: string, params: Record<string, string | undefined>, result: unknown): { entityType: string; entityId: string } {
  const segments = route.split('/').filter((s) => s && s !== 'v1');
  for (let i = segments.length - 1; i > 0; i--) {
    const param = /^\{(.+)\}$/.exec(segments[i])?.[1];
    if (!param || params[param] === undefined || segments[i - 1].startsWith('{')) continue;
    const entityType = entityTypeOf(segments[i - 1]);
    const entityId = entityType === 'model_version' && params.name ? `${params.name}@${params[param]}` : String(params[param]);
    return { entityType, entityId: entityId.slice(0, ENTITY_ID_MAX) };
  }
  const last = segments.filter((s) => !s.startsWith('{')).pop() ?? 'route';
  const body = (result ?? {}) as { name?: unknown; id?: unknown };
  const id = typeof body.name === 'string' ? body.name : typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : route;
  return { entityType: entityTypeOf(last), entityId: id.slice(0, ENTITY_ID_MAX) };
}

@Injectable()
export class MutationAuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('audit');

  constructor(
    @Inject(RegistryService) private readonly registry: Pick<RegistryService, 'appendAudit'>,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    if (!MUTATING.has(req.method)) return next.handle();
    if (this.reflector.getAllAndOverride<string | undefined>(NOT_AUDITED_KEY, [context.getHandler(), context.getClass()])) return next.handle();
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      concatMap(async (result: unknown) => {
        await this.record(req, res, result);
        return result;
      }),
    );
  }

  private async record(req: Request, res: Response, result: unknown): Promise<void> {
    const ctx = contextOf(req);
    const route = routeOf(req);
    const entry: AuditEntry = {
      actor: ctx?.caller.id ?? 'anonymous',
      action: `http.${req.method} ${route}`.slice(0, ACTION_MAX),
      ...auditTarget(route, (req.params ?? {}) as Record<string, string>, result),
      details: { requestId: ctx?.requestId, status: res.statusCode, path: (req.originalUrl ?? req.url).split('?')[0], via: ctx?.caller.via },
    };
    try {
      await this.registry.appendAudit(entry);
    } catch (err) {
      // The change itself is committed (its own domain event with it); failing the answer now would make the client
      // retry something that succeeded. The event goes to the log instead, whole, so it is not lost.
      this.logger.error(`could not write the audit event ${JSON.stringify(entry)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
