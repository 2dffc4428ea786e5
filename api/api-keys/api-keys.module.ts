import { Module } from '@nestjs/common';
import { ApiKeysController } from './api-keys.controller';

/** API key management (admin only); authentication itself lives in common/auth. */
@Module({ controllers: [ApiKeysController] })
export class ApiKeysModule {}
