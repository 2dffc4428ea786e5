/**
 * Spawning the project's worker_threads (inference, training, the prediction-log encoder) from compiled output or
 * from TypeScript sources alike. Compiled, a thread's entry is `<base>.js` next to the caller. From sources (ts-jest,
 * the benchmarks) a thread has no TypeScript loader, so a bootstrap installs scripts/ts-register.js before it loads
 * `<base>.ts`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ResourceLimits } from 'node:worker_threads';

// The project's transpile-on-require hook (the one the benchmarks and the process-group test use), then the entry.
const TS_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
require(workerData.tsRegister);
require(workerData.entry);
`;

/**
 * Starts the thread whose entry module is `base` in `dir` (pass the caller's `__dirname` and `__filename`, which tell
 * whether it runs compiled or from sources). `workerData` reaches the thread unchanged.
 */
export function spawnModuleThread(
  caller: { dirname: string; filename: string },
  base: string,
  workerData: Record<string, unknown>,
  resourceLimits?: ResourceLimits,
): Worker {
  const fromSources = path.extname(caller.filename) === '.ts';
  const entry = path.join(caller.dirname, `${base}${fromSources ? '.ts' : '.js'}`);
  if (fromSources) {
    return new Worker(TS_BOOTSTRAP, { eval: true, workerData: { ...workerData, entry, tsRegister: path.join(__dirname, '../../scripts/ts-register.js') }, resourceLimits });
  }
  return new Worker(entry, { workerData, resourceLimits });
}

/**
 * Lowers the calling thread's priority (Linux: a thread's own nice value, set through its thread ID), so that when
 * cores are scarce the API's event loop (HTTP parsing, health probes, metrics) gets the CPU first and background
 * threads take what is left. Best effort: elsewhere, or without /proc, the thread keeps the default priority.
 */
export function lowerThreadPriority(nice: number): void {
  if (!nice) return;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.max(os.getPriority(tid), nice));
  } catch {
    // not Linux, or not permitted: keep the default
  }
}
