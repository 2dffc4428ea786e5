import { Global, Logger, Module } from '@nestjs/common';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { RegistryService } from '../../libs/registry';
import { ApiKeyVerifier } from './auth/api-key.verifier';
import { RequestContext } from './request-context';

/** Request-wide pieces every feature may inject: the request context, and the API-key verifier behind the auth guard. */
@Global()
@Module({
  providers: [
    RequestContext,
    {
      provide: ApiKeyVerifier,
      inject: [RegistryService, APP_CONFIG],
      useFactory: (registry: RegistryService, config: AppConfig) => {
        if (!config.adminKey) new Logger('auth').warn('MLCYCLE_ADMIN_KEY is not set: there is no bootstrap admin key; only stored API keys work');
        return new ApiKeyVerifier(registry, config.adminKey);
      },
    },
  ],
  exports: [RequestContext, ApiKeyVerifier],
})
export class CommonModule {}
