/**
 * TestWorkflowEnvironment for workflow tests, two ways, neither of which ever downloads a server:
 * - connectToSharedTemporal(): the dev server global-setup.ts started for the whole run (cheap; the usual choice;
 *   use a unique task queue and workflow ID per test);
 * - createLocalTestEnv(): a dev server of the test's own, started by the SDK from our pinned binary (isolation, at
 *   about a second per environment).
 * Both register the MlcycleModel/MlcycleStatus/MlcycleStep Keyword search attributes.
 */
import { randomUUID } from 'node:crypto';

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment, type LocalTestWorkflowEnvironmentOptions } from '@temporalio/testing';

import { temporalBin } from './binaries';
import { testServers } from './env';
import { MLCYCLE_SEARCH_ATTRIBUTE_NAMES } from './servers';

export async function createLocalTestEnv(options: Omit<LocalTestWorkflowEnvironmentOptions, 'server'> = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    ...options,
    server: {
      executable: { type: 'existing-path', path: temporalBin() },
      ip: '127.0.0.1',
      searchAttributes: MLCYCLE_SEARCH_ATTRIBUTE_NAMES.map((name) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD)),
      log: { format: 'pretty', level: 'warn' },
    },
  });
}

export async function connectToSharedTemporal(): Promise<TestWorkflowEnvironment> {
  const { temporal } = testServers();
  return TestWorkflowEnvironment.createFromExistingServer({ address: temporal.address, namespace: temporal.namespace });
}

/** A task queue no other test uses, so workers of different tests never steal each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}
