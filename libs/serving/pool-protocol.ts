/** Messages between the inference pool (pool.ts) and its threads (pool-worker.ts). */
import type { SessionValueInfo } from './signature';

export type PoolRequest =
  | { t: 'load'; id: number; key: string; bytes: Uint8Array }
  | { t: 'unload'; id: number; key: string }
  | { t: 'run'; id: number; key: string; rows: number; columns: Record<string, Float32Array | string[]>; fetches: string[] };

export type PoolReply =
  /** loadMs: how long creating the session took (how long it would hold an event loop) */
  | { t: 'loaded'; id: number; inputs: SessionValueInfo[]; outputs: SessionValueInfo[]; loadMs: number }
  | { t: 'unloaded'; id: number }
  | { t: 'result'; id: number; outputs: Record<string, { dims: number[]; data: Float32Array | string[] }>; runMs: number }
  | { t: 'error'; id: number; message: string };
