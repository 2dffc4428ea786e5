/** Test harness: real servers, shared or per test, and throw-away databases. */
export { minioBin, temporalBin } from './binaries';
export { appEnvForTests, testServers, TEST_ENV, type TestServers } from './env';
export { freePort, httpStatus, isPortFree, tcpOpen, waitUntil } from './net';
export { createTestPostgresDatabase, describeWithPostgres, postgresSkipReason, type TestPostgresDatabase } from './postgres';
export {
  MLCYCLE_SEARCH_ATTRIBUTE_NAMES,
  startMinio,
  startTemporalDevServer,
  TEST_S3_ACCESS_KEY,
  TEST_S3_SECRET_KEY,
  type MinioServer,
  type TemporalDevServer,
} from './servers';
export { tempSqlitePath } from './sqlite';
export { connectToSharedTemporal, createLocalTestEnv, uniqueTaskQueue } from './temporal-env';
