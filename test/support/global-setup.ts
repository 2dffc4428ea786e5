/**
 * Jest globalSetup of the projects that talk to real servers (workflows, e2e, support; jest.config.js): ONE
 * Temporal dev server and ONE MinIO for the whole run, published through the MLCYCLE_TEST_* variables
 * (test/support/env.ts), plus the run's scratch directory (MLCYCLE_TEST_TMP_DIR; tempSqlitePath() puts its files
 * there). A variable that is already set (a server of your own) is used as is and nothing is started for it.
 *
 * Jest runs each distinct globalSetup module ONCE per run, with the config of whichever test its sort put first:
 * a module shared with the `unit` project cannot tell from its arguments whether servers are needed. So `unit`
 * names its own module (global-setup-unit.ts, scratch directory only) and this one always starts the servers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TEST_ENV } from './env';
import { startMinio, startTemporalDevServer, type MinioServer, type TemporalDevServer } from './servers';

export interface SharedTestState {
  tmpDir?: string;
  serversStarted: boolean;
  temporal?: TemporalDevServer;
  minio?: MinioServer;
  /** variables this setup set, unset again by the teardown */
  published: string[];
}

declare global {
  var __MLCYCLE_TEST_STATE__: SharedTestState | undefined;
}

function publish(state: SharedTestState, name: string, value: string): void {
  process.env[name] = value;
  state.published.push(name);
}

async function startServers(state: SharedTestState): Promise<void> {
  const started = Date.now();
  const [temporal, minio] = await Promise.all([
    process.env[TEST_ENV.temporalAddress] ? undefined : startTemporalDevServer(),
    process.env[TEST_ENV.s3Endpoint] ? undefined : startMinio(),
  ]);
  state.temporal = temporal;
  state.minio = minio;
  if (temporal) {
    publish(state, TEST_ENV.temporalAddress, temporal.address);
    publish(state, TEST_ENV.temporalNamespace, temporal.namespace);
  }
  if (minio) {
    publish(state, TEST_ENV.s3Endpoint, minio.endpoint);
    publish(state, TEST_ENV.s3AccessKey, minio.accessKey);
    publish(state, TEST_ENV.s3SecretKey, minio.secretKey);
    publish(state, TEST_ENV.s3Region, minio.region);
  }
  const what = [
    `Temporal ${process.env[TEST_ENV.temporalAddress]}${temporal ? '' : ' (given)'}`,
    `MinIO ${process.env[TEST_ENV.s3Endpoint]}${minio ? '' : ' (given)'}`,
  ];
  process.stdout.write(`\ntest servers: ${what.join(', ')} — ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}

function sharedState(): SharedTestState {
  return (globalThis.__MLCYCLE_TEST_STATE__ ??= { serversStarted: false, published: [] });
}

/** The run's scratch directory, made once whichever setup runs first. */
export function prepareScratchDirectory(): SharedTestState {
  const state = sharedState();
  if (!process.env.MLCYCLE_TEST_TMP_DIR) {
    state.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-test-run-'));
    publish(state, 'MLCYCLE_TEST_TMP_DIR', state.tmpDir);
  }
  return state;
}

export default async function globalSetup(): Promise<void> {
  const state = prepareScratchDirectory();
  if (!state.serversStarted) {
    state.serversStarted = true;
    await startServers(state);
  }
}
