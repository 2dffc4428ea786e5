/**
 * The inference pool's queue and batching policy, pure (no threads, no timers): requests wait here only while
 * every pool worker is busy. When a worker frees up it takes the model version whose oldest request has waited
 * longest, together with that version's other waiting requests up to `maxBatchRows` rows, as one session.run.
 * So an idle server answers each request at once, and a saturated one batches exactly as much as the backlog
 * allows (Triton's dynamic batcher with a zero queue delay). `maxWaitMs` > 0 additionally holds a batch that is
 * not full for up to that long. Mirrored shadow requests run only when no live request waits.
 */

export interface QueuedJob {
  /** model version key: requests with the same key can share a session.run */
  key: string;
  rows: number;
  enqueuedAt: number;
  priority: 'live' | 'shadow';
}

export interface BatchPolicy {
  /** false: one request per session.run */
  batching: boolean;
  /** rows per session.run at most (a single larger request still runs, alone) */
  maxBatchRows: number;
  /** how long a partial batch may wait for more requests when a worker is free; 0 = never wait */
  maxWaitMs: number;
  /** live requests waiting at most; beyond it push() refuses (the caller answers 503) */
  maxQueued: number;
  /** shadow requests waiting at most; beyond it they are dropped */
  maxShadowQueued: number;
}

export type TakeResult<J> = { key: string; jobs: J[] } | { waitMs: number } | undefined;

export class BatchQueue<J extends QueuedJob> {
  private readonly live = new Map<string, J[]>();
  private readonly shadow = new Map<string, J[]>();
  private liveCount = 0;
  private shadowCount = 0;

  constructor(readonly policy: BatchPolicy) {}

  /** Queues a job; false when its queue is full. */
  push(job: J): boolean {
    const isShadow = job.priority === 'shadow';
    if (isShadow ? this.shadowCount >= this.policy.maxShadowQueued : this.liveCount >= this.policy.maxQueued) return false;
    const queues = isShadow ? this.shadow : this.live;
    let q = queues.get(job.key);
    if (!q) {
      q = [];
      queues.set(job.key, q);
    }
    q.push(job);
    if (isShadow) this.shadowCount++;
    else this.liveCount++;
    return true;
  }

  get depth(): { live: number; shadow: number } {
    return { live: this.liveCount, shadow: this.shadowCount };
  }

  /**
   * The next batch for a free worker at time `now`: live work first, oldest head first. `{waitMs}` when the
   * policy wants to hold a partial batch a little longer; undefined when nothing waits. `rowCap` lowers the
   * policy's row cap for the chosen version's batch (a request larger than the cap still comes out, alone).
   */
  take(now: number, rowCap?: (key: string) => number): TakeResult<J> {
    const fromLive = this.liveCount > 0;
    const queues = fromLive ? this.live : this.shadow;
    if (!fromLive && this.shadowCount === 0) return undefined;
    let key: string | undefined;
    let oldest = Infinity;
    for (const [k, q] of queues) {
      if (q.length && q[0].enqueuedAt < oldest) {
        oldest = q[0].enqueuedAt;
        key = k;
      }
    }
    if (key === undefined) return undefined;
    const q = queues.get(key)!;
    const { batching, maxWaitMs } = this.policy;
    const maxBatchRows = rowCap ? Math.min(rowCap(key), this.policy.maxBatchRows) : this.policy.maxBatchRows;
    if (batching && maxWaitMs > 0) {
      const queuedRows = q.reduce((s, j) => s + j.rows, 0);
      const waited = now - q[0].enqueuedAt;
      if (queuedRows < maxBatchRows && waited < maxWaitMs) return { waitMs: maxWaitMs - waited };
    }
    const jobs: J[] = [q.shift()!];
    if (batching) {
      let rows = jobs[0].rows;
      while (q.length && rows + q[0].rows <= maxBatchRows) {
        rows += q[0].rows;
        jobs.push(q.shift()!);
      }
    }
    if (!q.length) queues.delete(key);
    if (fromLive) this.liveCount -= jobs.length;
    else this.shadowCount -= jobs.length;
    return { key, jobs };
  }

  /** Removes every job of `key` (its version is being unloaded) and returns them. */
  drain(key: string): J[] {
    const jobs = [...(this.live.get(key) ?? []), ...(this.shadow.get(key) ?? [])];
    this.liveCount -= this.live.get(key)?.length ?? 0;
    this.shadowCount -= this.shadow.get(key)?.length ?? 0;
    this.live.delete(key);
    this.shadow.delete(key);
    return jobs;
  }

  /** Removes everything (shutdown). */
  clear(): J[] {
    const jobs = [...[...this.live.values()].flat(), ...[...this.shadow.values()].flat()];
    this.live.clear();
    this.shadow.clear();
    this.liveCount = 0;
    this.shadowCount = 0;
    return jobs;
  }
}

/** Concatenates same-named columns of several requests, in order (the batch's feeds). */
export function concatColumns(parts: Record<string, Float32Array | string[]>[], names: readonly string[]): Record<string, Float32Array | string[]> {
  if (parts.length === 1) return parts[0];
  const out: Record<string, Float32Array | string[]> = {};
  for (const name of names) {
    const first = parts[0][name];
    if (Array.isArray(first)) {
      const merged: string[] = [];
      for (const p of parts) for (const v of p[name] as string[]) merged.push(v);
      out[name] = merged;
    } else {
      const total = parts.reduce((s, p) => s + p[name].length, 0);
      const merged = new Float32Array(total);
      let at = 0;
      for (const p of parts) {
        merged.set(p[name] as Float32Array, at);
        at += p[name].length;
      }
      out[name] = merged;
    }
  }
  return out;
}

export interface RawOutput {
  dims: number[];
  data: Float32Array | string[];
}

/** Splits a batch's outputs back into each request's rows (outputs are row-major with the batch dimension first). */
export function splitOutputs(outputs: Record<string, RawOutput>, rowCounts: readonly number[]): Record<string, RawOutput>[] {
  if (rowCounts.length === 1) {
    // a batch of one request (the usual case when idle): its outputs are the batch's
    for (const [name, out] of Object.entries(outputs)) {
      if (out.dims[0] !== rowCounts[0]) throw new Error(`output '${name}' has ${out.dims[0]} rows for a batch of ${rowCounts[0]}`);
    }
    return [outputs];
  }
  const result: Record<string, RawOutput>[] = rowCounts.map(() => ({}));
  for (const [name, out] of Object.entries(outputs)) {
    const total = rowCounts.reduce((a, b) => a + b, 0);
    if (out.dims[0] !== total) throw new Error(`output '${name}' has ${out.dims[0]} rows for a batch of ${total}`);
    const width = out.dims.slice(1).reduce((a, b) => a * b, 1);
    let at = 0;
    for (let i = 0; i < rowCounts.length; i++) {
      const n = rowCounts[i];
      const data = Array.isArray(out.data) ? out.data.slice(at * width, (at + n) * width) : out.data.subarray(at * width, (at + n) * width);
      result[i][name] = { dims: [n, ...out.dims.slice(1)], data };
      at += n;
    }
  }
  return result;
}
