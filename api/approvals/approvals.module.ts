import { Module } from '@nestjs/common';
import { DeploymentsModule } from '../deployments/deployments.module';
import { ModelsModule } from '../models/models.module';
import { ApprovalsController } from './approvals.controller';
import { ApprovalsService } from './approvals.service';

/** Approval requests: the reviewers' inbox and decisions, sent to the rollout workflow as an Update. */
@Module({ imports: [ModelsModule, DeploymentsModule], controllers: [ApprovalsController], providers: [ApprovalsService] })
export class ApprovalsModule {}
