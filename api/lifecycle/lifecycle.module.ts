import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { RunsModule } from '../runs/runs.module';
import { LifecycleController } from './lifecycle.controller';

/** The model lifecycle: start, state, retrain, new data, pause, resume. LifecycleClient comes from ModelsModule. */
@Module({ imports: [ModelsModule, RunsModule], controllers: [LifecycleController] })
export class LifecycleModule {}
