/**
 * Turns every exception into the API's error shape (api-error.ts). Known domain errors map to their status codes
 * here, so services can throw the library's own errors; anything unknown becomes a 500 that says only
 * "internal error" and the request ID, while the stack goes to the log.
 */
import { ArgumentsHost, Catch, HttpException, Logger } from '@nestjs/common';
import type { ExceptionFilter } from '@nestjs/common';
import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import type { Request, Response } from 'express';
import { ArtifactCorruptError, ArtifactNotFoundError, PayloadTooLargeError } from '../../libs/artifacts';
import { SpecValidationError } from '../../libs/ml/spec';
import { RegistryConflictError } from '../../libs/registry';
import { ApiException, reasonPhrase } from './api-error';
import type { ErrorBody, ErrorDetail } from './api-error';
import { contextOf } from './request-context';

/** gRPC status UNAVAILABLE / DEADLINE_EXCEEDED: Temporal is down or too slow to answer. */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

/** Maps an exception to a status and body (without requestId). Pure, so it can be unit-tested. */
export function toErrorBody(exception: unknown): ErrorBody & { log?: 'error' | 'warn' } {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const body: ErrorBody = { statusCode: status, error: reasonPhrase(status), message: exception.message };
    if (typeof response === 'string') body.message = response;
    else if (response && typeof response === 'object') {
      const r = response as { message?: unknown; details?: unknown };
      if (Array.isArray(r.message)) {
        // Nest's own validation messages arrive as a list; keep them all.
        body.message = r.message.map(String).join('; ');
        body.details = r.message.map((m) => ({ message: String(m) }));
      } else if (typeof r.message === 'string') body.message = r.message;
      if (Array.isArray(r.details)) body.details = r.details as ErrorDetail[];
    }
    // An ApiException is a deliberate answer (e.g. 503 not ready); other 5xx HttpExceptions are worth a stack.
    return { ...body, log: status >= 500 && !(exception instanceof ApiException) ? 'error' : undefined };
  }
  if (exception instanceof SpecValidationError) {
    const first = exception.issues[0];
    const more = exception.issues.length > 1 ? ` (and ${exception.issues.length - 1} more problem${exception.issues.length > 2 ? 's' : ''}, see details)` : '';
    return {
      statusCode: 400,
      error: reasonPhrase(400),
      message: `the model spec is invalid: ${first ? `${first.path || '(document)'}: ${first.message}` : 'unknown problem'}${more}`,
      details: exception.issues.map((i) => ({ path: i.path, message: i.message })),
    };
  }
  if (exception instanceof RegistryConflictError) return { statusCode: 409, error: reasonPhrase(409), message: exception.message };
  if (exception instanceof PayloadTooLargeError) return { statusCode: 413, error: reasonPhrase(413), message: exception.message };
  if (exception instanceof ArtifactNotFoundError) {
    return { statusCode: 404, error: reasonPhrase(404), message: `${exception.message} in object storage`, log: 'warn' };
  }
  if (exception instanceof ArtifactCorruptError) {
    return { statusCode: 500, error: reasonPhrase(500), message: `stored artifact failed its integrity check (${exception.key})`, log: 'error' };
  }
  const bodyParserError = fromBodyParser(exception);
  if (bodyParserError) return bodyParserError;
  if (isTemporalUnavailable(exception)) {
    return { statusCode: 503, error: reasonPhrase(503), message: 'Temporal is unavailable right now; retry shortly', log: 'warn' };
  }
  return { statusCode: 500, error: reasonPhrase(500), message: 'internal error', log: 'error' };
}

/** body-parser raises http-errors with a `type`; translate the common ones into a sentence about the body. */
function fromBodyParser(exception: unknown): (ErrorBody & { log?: 'warn' }) | undefined {
  const e = exception as { type?: unknown; status?: unknown; expose?: unknown; message?: unknown; limit?: unknown };
  if (!e || typeof e !== 'object' || typeof e.type !== 'string' || typeof e.status !== 'number') return undefined;
  const status = e.status;
  const message = (): string => {
    switch (e.type) {
      case 'entity.parse.failed':
        return `the request body is not valid JSON: ${String(e.message)}`;
      case 'entity.too.large':
        return `the request body is larger than the limit of ${String(e.limit)} bytes`;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return String(e.message);
      case 'request.aborted':
        return 'the request was aborted by the client';
      default:
        return e.expose ? String(e.message) : reasonPhrase(status);
    }
  };
  if (status < 400 || status >= 500) return undefined;
  return { statusCode: status, error: reasonPhrase(status), message: message() };
}

function isTemporalUnavailable(exception: unknown): boolean {
  const grpc = isGrpcServiceError(exception)
    ? exception
    : exception instanceof ServiceError && isGrpcServiceError(exception.cause)
      ? exception.cause
      : undefined;
  return grpc !== undefined && (grpc.code === GRPC_UNAVAILABLE || grpc.code === GRPC_DEADLINE_EXCEEDED);
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId = req ? contextOf(req)?.requestId : undefined;
    const { log, ...body } = toErrorBody(exception);
    const where = req ? `${req.method} ${req.originalUrl ?? req.url}` : 'request';
    if (log === 'error') {
      const stack = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
      this.logger.error(`${where} failed [requestId=${requestId}]: ${stack}`);
    } else if (log === 'warn') {
      this.logger.warn(`${where} → ${body.statusCode} [requestId=${requestId}]: ${exception instanceof Error ? exception.message : String(exception)}`);
    }
    if (!res || res.headersSent) {
      // A streamed download failed midway: the status line is gone, so break the connection and let the client
      // see a truncated transfer rather than a well-formed body with bad bytes in it.
      res?.destroy?.(exception instanceof Error ? exception : undefined);
      return;
    }
    res.status(body.statusCode).json({ ...body, requestId });
  }
}
