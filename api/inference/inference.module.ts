/**
 * Serving: this API process is a serving replica (libs/serving/replica.ts) unless MLCYCLE_SERVING_ENABLED=false.
 * It starts reconciling once the app has booted, and on shutdown writes its last traffic window, withdraws its
 * replica reports while the registry is still open, then flushes the prediction log and stops the threads.
 */
import { Inject, Logger, Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { BeforeApplicationShutdown, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ArtifactStore } from '../../libs/artifacts';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { RegistryService } from '../../libs/registry';
import { defaultReplicaId, ServingReplica } from '../../libs/serving/replica';
import { inferenceThreads } from '../../libs/serving/pool';
import { ApiKeyVerifier } from '../common/auth/api-key.verifier';
import { apiWorkerIndex, ClusterMember } from '../cluster';
import { InferFastPath } from './fast-path';
import { InferenceService } from './inference.service';
import { MetricsController } from './metrics.controller';
import { OipController } from './oip.controller';
import { PredictController } from './predict.controller';

export function createReplica(config: AppConfig, registry: RegistryService, store: ArtifactStore): ServingReplica {
  const s = config.serving;
  return new ServingReplica(
    registry,
    store,
    {
      // A fixed ID (a pod name) is shared by the processes of one API group: each adds its index to it.
      replicaId: s.replicaId ? `${s.replicaId}${apiWorkerIndex() ? `-${apiWorkerIndex()}` : ''}` : defaultReplicaId(),
      reconcileIntervalMs: s.reconcileIntervalMs,
      idleUnloadMs: s.idleUnloadMs,
      statsFlushMs: s.statsFlushMs,
      statsRetentionHours: s.statsRetentionHours,
      maxRowsPerRequest: s.maxRowsPerRequest,
      pool: {
        size: s.threads,
        batching: s.batching,
        maxBatchRows: s.maxBatchRows,
        maxWaitMs: s.batchWaitMs,
        maxQueued: s.queueLimit,
        maxShadowQueued: Math.max(16, Math.floor(s.queueLimit / 4)),
        threadNice: s.threadNice,
        inlineBudgetMs: s.inlineBudgetMs,
        coreShare: s.coreShare,
        busyPollMs: s.busyPollUs / 1000,
      },
      predictionLog: s.predictionLog,
    },
    new Logger('serving'),
  );
}

@Module({
  controllers: [OipController, PredictController, MetricsController],
  providers: [
    { provide: ServingReplica, inject: [APP_CONFIG, RegistryService, ArtifactStore], useFactory: createReplica },
    {
      provide: ClusterMember,
      inject: [ServingReplica],
      useFactory: (replica: ServingReplica) => (apiWorkerIndex() ? new ClusterMember(() => replica.renderMetrics()) : null),
    },
    InferenceService,
  ],
  exports: [ServingReplica],
})
export class InferenceModule implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('serving');

  constructor(
    @Inject(ServingReplica) private readonly replica: ServingReplica,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(InferenceService) private readonly inference: InferenceService,
    @Inject(ApiKeyVerifier) private readonly keys: ApiKeyVerifier,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.serving.enabled) {
      this.logger.log('serving is disabled on this process (MLCYCLE_SERVING_ENABLED=false)');
      return;
    }
    this.replica.start();
    const server = this.adapterHost.httpAdapter?.getHttpServer();
    if (this.config.serving.fastPath && server) new InferFastPath(this.inference, this.keys).install(server);
    this.logger.log(
      `serving replica ${this.replica.replicaId}: ${inferenceThreads(this.config.serving.threads)}, batching ${this.config.serving.batching ? `on (≤ ${this.config.serving.maxBatchRows} rows)` : 'off'}, fast path ${this.config.serving.fastPath ? 'on' : 'off'}`,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.config.serving.enabled) await this.replica.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica.close();
  }
}
