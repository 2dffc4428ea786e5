import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

/** Training runs: start (idempotent), list, live state. */
@Module({ imports: [ModelsModule], controllers: [RunsController], providers: [RunsService] })
export class RunsModule {}
