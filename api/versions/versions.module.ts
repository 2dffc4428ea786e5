import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { VersionsController } from './versions.controller';
import { VersionsService } from './versions.service';

/** Model versions: reads and verified artifact downloads. */
@Module({ imports: [ModelsModule], controllers: [VersionsController], providers: [VersionsService] })
export class VersionsModule {}
