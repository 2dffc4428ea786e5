/**
 * Route access by role. `@Roles(...)` lists the roles that may call a route (admin may call everything);
 * `@Public()` marks the few routes that need no key (health probes, API docs). A route with neither is closed to
 * every role but admin, so a forgotten annotation fails safe. Enforced by auth.guard.ts; both decorators also
 * document themselves in the OpenAPI document (see setup.ts).
 */
import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiSecurity } from '@nestjs/swagger';
import type { Role } from '../../../libs/registry';

export const ROLES_KEY = 'mlcycle:roles';
export const PUBLIC_KEY = 'mlcycle:public';
/** OpenAPI extension carrying a route's roles. */
export const ROLES_EXTENSION = 'x-mlcycle-roles';

export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ROLES_KEY, roles), ApiExtension(ROLES_EXTENSION, roles));
// An empty security requirement is OpenAPI for "no credentials needed", overriding the document-wide one.
export const Public = (): MethodDecorator & ClassDecorator => applyDecorators(SetMetadata(PUBLIC_KEY, true), ApiSecurity({}));
