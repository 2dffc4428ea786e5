/**
 * Errors on the /v2 routes in the Open Inference Protocol's shape, `{"error": "<message>"}`, whatever raised them
 * (decoding, routing, the auth guard, path validation), so OIP clients such as tritonclient show the reason.
 * 503s carry Retry-After. Unexpected errors stay "internal error" here too, with the stack in the log.
 */
import { ArgumentsHost, Catch, HttpException, Logger } from '@nestjs/common';
import type { ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { OipError } from '../../libs/serving/oip';
import { ServingError } from '../../libs/serving/replica';
import { contextOf } from '../common/request-context';

export function oipErrorBody(exception: unknown): { status: number; error: string; log?: boolean } {
  if (exception instanceof OipError || exception instanceof ServingError) {
    return { status: exception.status, error: exception.message, log: exception.status >= 500 && !(exception instanceof ServingError && exception.reason !== 'failed') };
  }
  if (exception instanceof HttpException) {
    const response = exception.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : Array.isArray((response as { message?: unknown }).message)
          ? ((response as { message: unknown[] }).message.map(String).join('; '))
          : String((response as { message?: unknown }).message ?? exception.message);
    return { status: exception.getStatus(), error: message };
  }
  return { status: 500, error: 'internal error', log: true };
}

@Catch()
export class OipErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('inference');

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const { status, error, log } = oipErrorBody(exception);
    const requestId = contextOf(req)?.requestId;
    if (log) this.logger.error(`${req.method} ${req.originalUrl} failed [requestId=${requestId}]: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (status === 503) res.setHeader('Retry-After', '1');
    res.status(status).json({ error });
  }
}
