import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

/** Training runs: start (idempotent), list, live state. Exports RunsService: the lifecycle checks sources with it. */
@Module({ imports: [ModelsModule], controllers: [RunsController], providers: [RunsService], exports: [RunsService] })
export class RunsModule {}
