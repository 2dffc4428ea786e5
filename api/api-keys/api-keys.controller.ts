/**
 * /v1/api-keys: admins create keys (the key is in the answer, once), list them (prefixes only) and revoke them.
 * The registry writes `api_key.created` / `api_key.revoked` with the admin's identity in the same transaction.
 */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RegistryService } from '../../libs/registry';
import { badRequest, ErrorResponse, notFound } from '../common/api-error';
import { ApiKeyVerifier } from '../common/auth/api-key.verifier';
import { apiKeyPrefix, generateApiKey, hashApiKey, isReservedIdentity } from '../common/auth/api-keys';
import { Roles } from '../common/auth/roles.decorator';
import { RequestContext } from '../common/request-context';
import { UuidPipe } from '../common/validation';
import { ApiKeyCreated, ApiKeyView, CreateApiKeyBody, toApiKeyView } from './api-keys.dto';

@ApiTags('api-keys')
@Roles('admin')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(ApiKeyVerifier) private readonly verifier: ApiKeyVerifier,
    @Inject(RequestContext) private readonly context: RequestContext,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key for an identity with roles (the key is shown once, in this answer)' })
  @ApiCreatedResponse({ type: ApiKeyCreated })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'an invalid or reserved identity, or unknown roles' })
  async create(@Body() body: CreateApiKeyBody): Promise<ApiKeyCreated> {
    if (isReservedIdentity(body.identity)) {
      throw badRequest(`the identity '${body.identity}' is reserved for the system; choose another`, [{ path: 'identity', message: 'reserved' }]);
    }
    const key = generateApiKey();
    const stored = await this.registry.createApiKey(
      { identity: body.identity, roles: body.roles, keyHash: hashApiKey(key), prefix: apiKeyPrefix(key) },
      this.context.actor,
    );
    return { ...toApiKeyView(stored), key };
  }

  @Get()
  @ApiOperation({ summary: 'List API keys, newest first (prefixes only; revoked keys show revokedAt)' })
  @ApiOkResponse({ type: [ApiKeyView] })
  async list(): Promise<ApiKeyView[]> {
    return (await this.registry.listApiKeys()).map(toApiKeyView);
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key (at once on this replica, within seconds on the others); revoking again is a no-op' })
  @ApiOkResponse({ type: ApiKeyView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  async revoke(@Param('id', new UuidPipe('API key id')) id: string): Promise<ApiKeyView> {
    const revoked = await this.registry.revokeApiKey(id, this.context.actor);
    if (!revoked) throw notFound(`API key ${id} does not exist`);
    this.verifier.forget(revoked.keyHash);
    return toApiKeyView(revoked);
  }
}
