/** The servers global-setup.ts shares with the whole run, and the two ways to get a TestWorkflowEnvironment. */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import * as Minio from 'minio';

import { testServers } from './env';
import { connectToSharedTemporal, createLocalTestEnv, uniqueTaskQueue } from './temporal-env';

// The SDK logs every worker state change and webpack's bundle report at INFO; keep the test output readable.
Runtime.install({ logger: new DefaultLogger('WARN') });

async function runEcho(env: TestWorkflowEnvironment): Promise<string> {
  const taskQueue = uniqueTaskQueue('harness');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowsPath: require.resolve('./fixtures/echo.workflow'),
  });
  return worker.runUntil(
    env.client.workflow.execute('echoWorkflow', {
      taskQueue,
      workflowId: `harness-echo-${taskQueue}`,
      args: ['hi'],
      typedSearchAttributes: [{ key: defineSearchAttributeKey('MlcycleModel', SearchAttributeType.KEYWORD), value: 'harness' }],
    }),
  );
}

describe('shared test servers', () => {
  it('publishes Temporal and MinIO addresses', () => {
    const servers = testServers();
    expect(servers.temporal.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(servers.s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs a workflow with a search attribute on the shared dev server', async () => {
    const env = await connectToSharedTemporal();
    try {
      expect(await runEcho(env)).toBe('echo: hi');
    } finally {
      await env.teardown();
    }
  });

  it('stores and reads back an object in the shared MinIO', async () => {
    const { s3 } = testServers();
    const url = new URL(s3.endpoint);
    const client = new Minio.Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
    });
    const bucket = `harness-${Date.now()}`;
    await client.makeBucket(bucket, s3.region);
    await client.putObject(bucket, 'hello.txt', Buffer.from('hello'));
    const chunks: Buffer[] = [];
    for await (const chunk of await client.getObject(bucket, 'hello.txt')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    await client.removeObject(bucket, 'hello.txt');
    await client.removeBucket(bucket);
  });
});

describe('createLocalTestEnv', () => {
  it('starts a dev server of its own from the pinned binary and runs a workflow on it', async () => {
    const env = await createLocalTestEnv();
    try {
      expect(await runEcho(env)).toBe('echo: hi');
    } finally {
      await env.teardown();
    }
  });
});

describe('jest configuration', () => {
  // Jest runs each distinct globalSetup module once, with the config of the first test in its sorted order; on a
  // fresh clone (no timing cache) that can be a unit spec, and a setup shared with `unit` would then start no
  // servers for the whole run.
  it('gives the server projects a setup module that the unit project does not share', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = require('../../jest.config.js') as { projects: { displayName: string; globalSetup: string }[] };
    const setupOf = (name: string): string => config.projects.find((p) => p.displayName === name)!.globalSetup;
    for (const project of ['workflows', 'e2e', 'support']) {
      expect(setupOf(project)).toMatch(/global-setup\.ts$/);
      expect(setupOf(project)).not.toBe(setupOf('unit'));
    }
  });
});
