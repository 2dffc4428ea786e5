/** Readiness checks of what the API depends on: the registry database, the artifact bucket, Temporal. */
import { Inject, Injectable } from '@nestjs/common';
import { Client } from '@temporalio/client';
import { DataSource } from 'typeorm';
import { ArtifactStore } from '../../libs/artifacts';
import { TEMPORAL_CLIENT } from '../temporal/temporal.module';

export interface CheckResult {
  name: 'database' | 'storage' | 'temporal';
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

/** A dependency slower than this to answer counts as down: a readiness probe must not hang. */
export const CHECK_TIMEOUT_MS = 3000;

async function timed(name: CheckResult['name'], probe: () => Promise<void>): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { name, status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { name, status: 'down', latencyMs: Math.round(performance.now() - started), error: (err as Error).message || String(err) };
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class HealthService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ArtifactStore) private readonly store: ArtifactStore,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
  ) {}

  readiness(): Promise<CheckResult[]> {
    return Promise.all([
      timed('database', async () => {
        await this.dataSource.query('SELECT 1');
      }),
      timed('storage', async () => {
        if (!(await this.store.isReady())) throw new Error(`bucket '${this.store.bucket}' does not exist`);
      }),
      timed('temporal', async () => {
        const connection = this.temporal.connection;
        // The call's own deadline ends it before the check gives up on it, so nothing is left running.
        await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS - 250, () => connection.workflowService.getSystemInfo({}));
      }),
    ]);
  }
}
