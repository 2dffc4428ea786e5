/**
 * The worker process: a Nest application context (no HTTP port) that runs the Temporal worker until SIGTERM or
 * SIGINT, then drains in-flight tasks and closes its connections.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { DataSource } from 'typeorm';
import { ArtifactStore } from '../libs/artifacts';
import { APP_CONFIG, ConfigError, loadConfig, taskQueue } from '../libs/config';
import type { AppConfig } from '../libs/config';
import { TASK_QUEUES } from '../libs/contracts';
import { RegistryService } from '../libs/registry';
import { createWorker } from './create-worker';
import { WorkerModule } from './worker.module';

async function connectWithRetry(address: string, logger: Logger): Promise<NativeConnection> {
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await NativeConnection.connect({ address });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      if (attempt === 1) logger.warn(`Temporal at ${address} is not answering yet; retrying for up to 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function main(): Promise<void> {
  try {
    loadConfig(); // fail fast, with the variable's name, before anything connects
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = new Logger('worker');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: false });
  const config = app.get<AppConfig>(APP_CONFIG);
  const connection = await connectWithRetry(config.temporal.address, logger);
  const queues = [taskQueue(config, TASK_QUEUES.control)];
  const deps = { config, registry: app.get(RegistryService), store: app.get(ArtifactStore) };
  const workers = await Promise.all(
    queues.map((queue) => createWorker({ connection, namespace: config.temporal.namespace, taskQueue: queue, deps })),
  );
  logger.log(`polling ${queues.join(', ')} on ${config.temporal.address} (namespace ${config.temporal.namespace})`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining in-flight tasks`);
    for (const worker of workers) worker.shutdown();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    await connection.close();
    await app.get(DataSource).destroy().catch(() => undefined);
    await app.close();
    logger.log('stopped');
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
