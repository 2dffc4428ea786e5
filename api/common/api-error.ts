/**
 * The API's one error shape, and the exception that carries it. Every error response, whatever raised it, is
 * `{ statusCode, error, message, details?, requestId }`; `message` says what to fix, `details` lists the
 * individual problems (field paths for validation).
 */
import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export interface ErrorDetail {
  /** dotted path of the offending field, when there is one ('' for the whole document) */
  path?: string;
  message: string;
  [key: string]: unknown;
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: ErrorDetail[];
  requestId?: string;
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Thrown by controllers and services for every expected failure. */
export class ApiException extends HttpException {
  constructor(status: number, message: string, readonly details?: ErrorDetail[]) {
    super({ statusCode: status, error: reasonPhrase(status), message, ...(details ? { details } : {}) }, status);
  }
}

export const badRequest = (message: string, details?: ErrorDetail[]): ApiException => new ApiException(400, message, details);
export const notFound = (message: string): ApiException => new ApiException(404, message);
export const conflict = (message: string): ApiException => new ApiException(409, message);

/** OpenAPI description of the error shape. */
export class ErrorResponse implements ErrorBody {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'the model spec is invalid: evaluation.primaryMetric: Required' })
  message!: string;

  @ApiPropertyOptional({
    description: 'the individual problems, each with the path of the field to fix',
    example: [{ path: 'evaluation.primaryMetric', message: 'Required' }],
  })
  details?: ErrorDetail[];

  @ApiProperty({ example: '7f1c0a8e-2f5b-4d7e-9b8a-0c1d2e3f4a5b', description: 'echoed in the X-Request-Id header; quote it in bug reports' })
  requestId?: string;
}
