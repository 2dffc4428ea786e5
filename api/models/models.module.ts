import { Module } from '@nestjs/common';
import { LifecycleClient } from '../lifecycle/lifecycle-client';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

/**
 * Models: registration from a spec, reads, spec updates. Exports ModelsService for the model lookup, and
 * LifecycleClient, because a model's view shows its lifecycle and the lifecycle module steers it.
 */
@Module({ controllers: [ModelsController], providers: [ModelsService, LifecycleClient], exports: [ModelsService, LifecycleClient] })
export class ModelsModule {}
