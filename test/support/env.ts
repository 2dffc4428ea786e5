/**
 * The servers shared by the whole jest run, as published by test/support/global-setup.ts. Workflow and e2e
 * suites read them here instead of starting servers of their own.
 */

export const TEST_ENV = {
  temporalAddress: 'MLCYCLE_TEST_TEMPORAL_ADDRESS',
  temporalNamespace: 'MLCYCLE_TEST_TEMPORAL_NAMESPACE',
  s3Endpoint: 'MLCYCLE_TEST_S3_ENDPOINT',
  s3AccessKey: 'MLCYCLE_TEST_S3_ACCESS_KEY',
  s3SecretKey: 'MLCYCLE_TEST_S3_SECRET_KEY',
  s3Region: 'MLCYCLE_TEST_S3_REGION',
} as const;

export interface TestServers {
  temporal: { address: string; namespace: string };
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: the shared test servers are started by test/support/global-setup.ts, which jest runs for ` +
        'the workflows, e2e and support projects (jest.config.js). Run the suite through `npm test -- <path>` or ' +
        '`npx jest --selectProjects workflows`, or point the variables at servers of your own.',
    );
  }
  return value;
}

export function testServers(): TestServers {
  return {
    temporal: {
      address: required(TEST_ENV.temporalAddress),
      namespace: process.env[TEST_ENV.temporalNamespace] || 'default',
    },
    s3: {
      endpoint: required(TEST_ENV.s3Endpoint),
      accessKey: required(TEST_ENV.s3AccessKey),
      secretKey: required(TEST_ENV.s3SecretKey),
      region: process.env[TEST_ENV.s3Region] || 'us-east-1',
    },
  };
}

/**
 * The application's own environment (what libs/config reads) pointed at the shared test servers, for e2e suites
 * that boot the API or the worker. `overrides` win; pass the database settings there.
 */
export function appEnvForTests(overrides: Record<string, string> = {}): Record<string, string> {
  const { temporal, s3 } = testServers();
  return {
    MLCYCLE_TEMPORAL_ADDRESS: temporal.address,
    MLCYCLE_TEMPORAL_NAMESPACE: temporal.namespace,
    MLCYCLE_S3_ENDPOINT: s3.endpoint,
    MLCYCLE_S3_ACCESS_KEY: s3.accessKey,
    MLCYCLE_S3_SECRET_KEY: s3.secretKey,
    MLCYCLE_S3_REGION: s3.region,
    ...overrides,
  };
}
