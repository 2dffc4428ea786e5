/**
 * Validation at the edge: the global ValidationPipe (DTOs), and pipes for path parameters, each answering 400 with
 * a sentence that names the parameter and says what it must look like.
 */
import { Injectable, ValidationPipe } from '@nestjs/common';
import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { ApiException, badRequest } from './api-error';
import type { ErrorDetail } from './api-error';

/** Flattens class-validator's error tree into one `{ path, message }` per broken constraint. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) out.push({ path, message });
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, path));
  }
  return out;
}

export function validationException(errors: ValidationError[], where = 'request'): ApiException {
  const details = flattenValidationErrors(errors);
  const first = details[0];
  const more = details.length > 1 ? ` (and ${details.length - 1} more, see details)` : '';
  return badRequest(`invalid ${where}: ${first ? first.message : 'unknown problem'}${more}`, details);
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // One complaint per field: 'limit must be an integer' says it all, without 'and at least 1' after it.
    stopAtFirstError: true,
    exceptionFactory: (errors) => validationException(errors),
  });
}

/** Same rule as the spec's `name` (libs/ml/spec.ts). */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class ModelNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!MODEL_NAME_PATTERN.test(value)) {
      throw badRequest(`'${truncate(value)}' is not a model name: 1-63 lowercase letters, digits and dashes, starting with a letter or digit`, [
        { path: 'name', message: 'must match ^[a-z0-9][a-z0-9-]{0,62}$' },
      ]);
    }
    return value;
  }
}

/** Validates a UUID path parameter; `what` names it in the message ("run id", "dataset id"). */
export class UuidPipe implements PipeTransform<string, string> {
  constructor(private readonly what: string) {}
  transform(value: string, metadata: ArgumentMetadata): string {
    if (!UUID_PATTERN.test(value)) {
      throw badRequest(`'${truncate(value)}' is not a valid ${this.what}: expected a UUID such as 3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b`, [
        { path: metadata.data ?? 'id', message: 'must be a UUID' },
      ]);
    }
    return value.toLowerCase();
  }
}

/** A version number, or the alias `champion`. */
export type VersionRef = number | 'champion';

@Injectable()
export class VersionRefPipe implements PipeTransform<string, VersionRef> {
  transform(value: string): VersionRef {
    if (value === 'champion') return value;
    if (/^[1-9][0-9]{0,8}$/.test(value)) return Number(value);
    throw badRequest(`'${truncate(value)}' is not a version: use a positive integer (1, 2, …) or 'champion'`, [
      { path: 'version', message: "must be a positive integer or 'champion'" },
    ]);
  }
}

function truncate(value: string, max = 80): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
