/**
 * The API process: validates configuration (a bad variable stops it with a message naming the variable, no stack),
 * builds the Nest app, listens on MLCYCLE_API_HOST:MLCYCLE_API_PORT, and shuts down cleanly on SIGTERM/SIGINT. With
 * MLCYCLE_API_PROCESSES > 1 it becomes the primary of a group of API processes sharing the port (cluster.ts).
 */
import 'reflect-metadata';
import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError, loadConfig } from '../libs/config';
import type { AppConfig } from '../libs/config';
import { AppModule } from './app.module';
import { apiWorkerIndex, runClusterPrimary } from './cluster';
import { APP_OPTIONS, configureApp, DOCS_PATH } from './setup';

const LOG_LEVELS: Record<AppConfig['logLevel'], LogLevel[]> = {
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  info: ['fatal', 'error', 'warn', 'log'],
  warn: ['fatal', 'error', 'warn'],
  error: ['fatal', 'error'],
};

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(); // fail fast, before anything connects
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  if (config.api.processes > 1 && cluster.isPrimary) {
    process.exitCode = await runClusterPrimary(config.api.processes);
    return;
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { ...APP_OPTIONS, logger: LOG_LEVELS[config.logLevel] });
  configureApp(app);
  app.enableShutdownHooks();
  await app.listen(config.api.port, config.api.host);
  const base = `http://${config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host}:${config.api.port}`;
  const worker = apiWorkerIndex();
  if (worker && worker > 1) return; // the first process of a group speaks for it
  new Logger('api').log(`${config.api.processes > 1 ? `${config.api.processes} processes ` : ''}listening on ${base}; OpenAPI docs at ${base}/${DOCS_PATH} (JSON: ${base}/${DOCS_PATH}-json)`);
}

main().catch((err) => {
  // Startup failures (database, bucket, Temporal unreachable) are operational: say what failed, not where.
  console.error(`mlcycle api failed to start: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.MLCYCLE_LOG_LEVEL === 'debug' && err instanceof Error) console.error(err.stack);
  process.exit(1);
});
