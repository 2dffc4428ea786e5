import { BatchQueue, concatColumns, splitOutputs } from './batch-queue';
import type { BatchPolicy, QueuedJob } from './batch-queue';

const policy: BatchPolicy = { batching: true, maxBatchRows: 10, maxWaitMs: 0, maxQueued: 100, maxShadowQueued: 2 };

function job(key: string, rows: number, at: number, priority: QueuedJob['priority'] = 'live'): QueuedJob & { tag: string } {
  return { key, rows, enqueuedAt: at, priority, tag: `${key}:${rows}@${at}` };
}

function take(q: BatchQueue<ReturnType<typeof job>>, now = 1000) {
  const r = q.take(now);
  if (!r || 'waitMs' in r) return r;
  return { key: r.key, tags: r.jobs.map((j) => j.tag) };
}

describe('BatchQueue', () => {
  it('dispatches at once when nothing waits longer, and merges what waited for the same version', () => {
    const q = new BatchQueue<ReturnType<typeof job>>(policy);
    q.push(job('a', 1, 1));
    expect(take(q)).toEqual({ key: 'a', tags: ['a:1@1'] });
    expect(q.take(1000)).toBeUndefined();
    q.push(job('a', 1, 2));
    q.push(job('a', 2, 3));
    q.push(job('a', 3, 4));
    expect(take(q)).toEqual({ key: 'a', tags: ['a:1@2', 'a:2@3', 'a:3@4'] });
  });

  it('serves the version whose oldest request waited longest, and caps a batch by rows', () => {
    const q = new BatchQueue<ReturnType<typeof job>>(policy);
    q.push(job('b', 4, 5));
    q.push(job('a', 6, 1));
    q.push(job('a', 5, 2));
    q.push(job('b', 4, 6));
    q.push(job('b', 4, 7));
    expect(take(q)).toEqual({ key: 'a', tags: ['a:6@1'] }); // 6 + 5 > 10
    expect(take(q)).toEqual({ key: 'a', tags: ['a:5@2'] });
    expect(take(q)).toEqual({ key: 'b', tags: ['b:4@5', 'b:4@6'] });
    expect(take(q)).toEqual({ key: 'b', tags: ['b:4@7'] });
    expect(q.depth).toEqual({ live: 0, shadow: 0 });
  });

  it('runs a request larger than the batch cap alone', () => {
    const q = new BatchQueue<ReturnType<typeof job>>(policy);
    q.push(job('a', 50, 1));
    q.push(job('a', 1, 2));
    expect(take(q)).toEqual({ key: 'a', tags: ['a:50@1'] });
  });

  it('never merges with batching off', () => {
    const q = new BatchQueue<ReturnType<typeof job>>({ ...policy, batching: false });
    q.push(job('a', 1, 1));
    q.push(job('a', 1, 2));
    expect(take(q)).toEqual({ key: 'a', tags: ['a:1@1'] });
    expect(take(q)).toEqual({ key: 'a', tags: ['a:1@2'] });
  });

  it('holds a partial batch for up to maxWaitMs when asked to', () => {
    const q = new BatchQueue<ReturnType<typeof job>>({ ...policy, maxWaitMs: 5 });
    q.push(job('a', 2, 100));
    expect(q.take(102)).toEqual({ waitMs: 3 });
    q.push(job('a', 8, 103));
    expect(take(q, 103)).toEqual({ key: 'a', tags: ['a:2@100', 'a:8@103'] }); // full: no more waiting
    q.push(job('a', 1, 200));
    expect(take(q, 205)).toEqual({ key: 'a', tags: ['a:1@200'] }); // waited long enough
  });

  it('runs shadow work only when no live request waits, and bounds both queues', () => {
    const q = new BatchQueue<ReturnType<typeof job>>({ ...policy, maxQueued: 2 });
    expect(q.push(job('s', 1, 1, 'shadow'))).toBe(true);
    expect(q.push(job('s', 1, 2, 'shadow'))).toBe(true);
    expect(q.push(job('s', 1, 3, 'shadow'))).toBe(false);
    expect(q.push(job('a', 1, 4))).toBe(true);
    expect(q.push(job('a', 1, 5))).toBe(true);
    expect(q.push(job('a', 1, 6))).toBe(false);
    expect(take(q)).toEqual({ key: 'a', tags: ['a:1@4', 'a:1@5'] });
    expect(take(q)).toEqual({ key: 's', tags: ['s:1@1', 's:1@2'] });
  });

  it('drains one version and clears everything', () => {
    const q = new BatchQueue<ReturnType<typeof job>>(policy);
    q.push(job('a', 1, 1));
    q.push(job('b', 1, 2));
    q.push(job('a', 1, 3, 'shadow'));
    expect(q.drain('a').map((j) => j.tag)).toEqual(['a:1@1', 'a:1@3']);
    expect(q.depth).toEqual({ live: 1, shadow: 0 });
    expect(q.clear().map((j) => j.tag)).toEqual(['b:1@2']);
    expect(q.take(0)).toBeUndefined();
  });
});

describe('concatColumns / splitOutputs', () => {
  it('merges requests column by column and splits outputs back by rows', () => {
    const merged = concatColumns(
      [
        { x: Float32Array.of(1), c: ['a'] },
        { x: Float32Array.of(2, 3), c: ['b', 'c'] },
      ],
      ['x', 'c'],
    );
    expect(Array.from(merged.x as Float32Array)).toEqual([1, 2, 3]);
    expect(merged.c).toEqual(['a', 'b', 'c']);
    const parts = splitOutputs(
      {
        label: { dims: [3], data: ['l1', 'l2', 'l3'] },
        probabilities: { dims: [3, 2], data: Float32Array.of(0.1, 0.9, 0.2, 0.8, 0.3, 0.7) },
      },
      [1, 2],
    );
    expect(parts[0].label).toEqual({ dims: [1], data: ['l1'] });
    expect(parts[1].label).toEqual({ dims: [2], data: ['l2', 'l3'] });
    expect(Array.from(parts[1].probabilities.data as Float32Array)).toEqual([Math.fround(0.2), Math.fround(0.8), Math.fround(0.3), Math.fround(0.7)]);
    expect(parts[1].probabilities.dims).toEqual([2, 2]);
  });

  it('passes a single request through untouched, its columns and its outputs', () => {
    const only = { x: Float32Array.of(1) };
    expect(concatColumns([only], ['x'])).toBe(only);
    const outputs = { y: { dims: [1, 1], data: Float32Array.of(5) } };
    expect(splitOutputs(outputs, [1])[0]).toBe(outputs);
  });

  it('refuses outputs whose rows do not match the batch, of one request or several', () => {
    expect(() => splitOutputs({ y: { dims: [2, 1], data: Float32Array.of(1, 2) } }, [1, 2])).toThrow(/2 rows for a batch of 3/);
    expect(() => splitOutputs({ y: { dims: [2, 1], data: Float32Array.of(1, 2) } }, [1])).toThrow(/2 rows for a batch of 1/);
  });
});
