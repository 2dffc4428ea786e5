/**
 * Everything about the HTTP application that is not a module: OpenAPI docs (with who may call each operation),
 * proxy trust, shutdown hooks. Shared by api/main.ts and the e2e tests, so tests run the API exactly as production
 * does. Create the app with `bodyParser: false`: AppModule parses bodies itself so that uploads stream.
 */
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { ROLES_EXTENSION } from './common/auth/roles.decorator';

export const DOCS_PATH = 'docs';

/** Options for NestFactory.create / createNestApplication. */
export const APP_OPTIONS = { bodyParser: false } as const;

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('mlcycle')
    .setDescription(
      'Durable ML model lifecycle: register a model from its spec, upload data, start training runs (Temporal ' +
        'workflows), follow them live, and read versions with their lineage and artifacts. Every error has the shape ' +
        '{statusCode, error, message, details?, requestId}. Every route but the public ones (health probes) needs an API key, sent as ' +
        "'Authorization: Bearer <key>' or 'X-Api-Key: <key>'; its identity is recorded as owner, requestedBy and audit " +
        'actor, and its roles decide what it may call (x-mlcycle-roles on each operation; admin may call everything). ' +
        'X-Request-Id is echoed on every response.',
    )
    .setVersion('v1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key (mlc_…)' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'the same API key, in its own header' }, API_KEY_SCHEME)
    .addSecurityRequirements(BEARER_SCHEME)
    .addSecurityRequirements(API_KEY_SCHEME)
    .addGlobalParameters({ name: 'X-Request-Id', in: 'header', required: false, description: 'correlation ID; generated when absent', schema: { type: 'string' } })
    .build();
  return documentAccess(SwaggerModule.createDocument(app, config));
}

type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;

const BEARER_SCHEME = 'bearer';
const API_KEY_SCHEME = 'x-api-key';

/**
 * Says on every operation who may call it: the roles (from @Roles, admin always included) in the description, and
 * the 401/403 answers; public operations (security `[{}]`, from @Public) get neither.
 */
function documentAccess(document: OpenAPIObject): OpenAPIObject {
  const error = { $ref: '#/components/schemas/ErrorResponse' };
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const op = item[method] as (OperationObject & { [ROLES_EXTENSION]?: string[] }) | undefined;
      if (!op) continue;
      if (op.security?.length === 1 && Object.keys(op.security[0]).length === 0) continue; // public
      const roles = [...new Set([...(op[ROLES_EXTENSION] ?? []), 'admin'])];
      op[ROLES_EXTENSION] = roles;
      op.description = `${op.description ? `${op.description}\n\n` : ''}Roles: ${roles.join(', ')}.`;
      op.responses['401'] ??= { description: 'no API key, or an unknown, revoked or malformed one', content: { 'application/json': { schema: error } } };
      op.responses['403'] ??= { description: `the key has none of the roles ${roles.join(', ')}`, content: { 'application/json': { schema: error } } };
    }
  }
  return document;
}

export function configureApp(app: NestExpressApplication): NestExpressApplication {
  app.disable('x-powered-by');
  // Serves the UI at /docs and the document at /docs-json.
  SwaggerModule.setup(DOCS_PATH, app, () => buildOpenApiDocument(app), { jsonDocumentUrl: `${DOCS_PATH}-json` });
  return app;
}
