/**
 * The API's root module: core providers (config, registry, artifact store), the Temporal client, the feature
 * modules, and the request pipeline every route shares — request ID, body parsing (skipped for the streamed
 * upload), AsyncLocalStorage scope, the API-key guard (caller and roles), validation, the audit of every successful
 * mutating call, and the one error shape.
 */
import { Module } from '@nestjs/common';
import type { MiddlewareConsumer, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { CoreModule } from '../libs/core/core.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { ApprovalsModule } from './approvals/approvals.module';
import { AuditModule } from './audit/audit.module';
import { MutationAuditInterceptor } from './common/audit.interceptor';
import { AuthGuard } from './common/auth/auth.guard';
import { BodyParserMiddleware } from './common/body-parsers';
import { CommonModule } from './common/common.module';
import { ApiExceptionFilter } from './common/error.filter';
import { RequestIdentityMiddleware, RequestScopeMiddleware } from './common/request-context';
import { createValidationPipe } from './common/validation';
import { DatasetsModule } from './datasets/datasets.module';
import { DeploymentsModule } from './deployments/deployments.module';
import { HealthModule } from './health/health.module';
import { InferenceModule } from './inference/inference.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { ModelsModule } from './models/models.module';
import { MonitoringModule } from './monitoring/monitoring.module';
import { RunsModule } from './runs/runs.module';
import { TemporalModule } from './temporal/temporal.module';
import { VersionsModule } from './versions/versions.module';

@Module({
  imports: [CoreModule, TemporalModule, CommonModule, ModelsModule, DatasetsModule, RunsModule, VersionsModule, AuditModule, HealthModule, ApiKeysModule, InferenceModule, DeploymentsModule, ApprovalsModule, MonitoringModule, LifecycleModule],
  providers: [
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_INTERCEPTOR, useClass: MutationAuditInterceptor },
    { provide: APP_PIPE, useFactory: createValidationPipe },
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Order matters: tag the request, parse bodies, then open the AsyncLocalStorage scope (see request-context.ts).
    consumer.apply(RequestIdentityMiddleware, BodyParserMiddleware, RequestScopeMiddleware).forRoutes('*');
  }
}
