import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsService } from './deployments.service';
import { RolloutsService } from './rollouts.service';

/** Rollouts and the live deployment. Exports RolloutsService: approvals read rollout state through it. */
@Module({ imports: [ModelsModule], controllers: [DeploymentsController], providers: [DeploymentsService, RolloutsService], exports: [RolloutsService] })
export class DeploymentsModule {}
