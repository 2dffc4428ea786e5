import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { DatasetsController } from './datasets.controller';
import { DatasetsService } from './datasets.service';

/** Data set snapshots: streamed uploads and reads. */
@Module({ imports: [ModelsModule], controllers: [DatasetsController], providers: [DatasetsService] })
export class DatasetsModule {}
