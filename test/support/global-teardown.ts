/**
 * Jest globalTeardown: stops the servers global-setup.ts started and removes the run's scratch directory (once,
 * however many projects name it). The type of globalThis.__MLCYCLE_TEST_STATE__ is declared in global-setup.ts.
 */
import * as fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__MLCYCLE_TEST_STATE__;
  if (!state) return;
  globalThis.__MLCYCLE_TEST_STATE__ = undefined;
  await Promise.all([state.minio?.stop(), state.temporal?.stop()]);
  if (state.tmpDir) fs.rmSync(state.tmpDir, { recursive: true, force: true });
  for (const name of state.published) delete process.env[name];
}
