import { createHash } from 'node:crypto';
import { SEATTLE_WEATHER_CSV } from './__fixtures__/tables';
import { readDatasetFile } from './read';
import { columnLabels, inferTable } from './schema';
import { allocate, membershipHash, mulberry32, splitRows } from './split';

const fractions = { train: 0.7, validation: 0.15, test: 0.15 };

/** The published mulberry32 (Tommy Ettinger), written as it usually appears, to check ours against. */
function referenceMulberry32(a: number): () => number {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function all(parts: { train: Uint32Array; validation: Uint32Array; test: Uint32Array }): number[] {
  return [...parts.train, ...parts.validation, ...parts.test].sort((a, b) => a - b);
}

function isAscending(a: Uint32Array): boolean {
  return a.every((v, i) => i === 0 || a[i - 1] < v);
}

describe('mulberry32', () => {
  it('matches the reference implementation', () => {
    for (const seed of [0, 42, 123456789, 0xffffffff]) {
      const ours = mulberry32(seed);
      const reference = referenceMulberry32(seed);
      for (let i = 0; i < 1000; i++) expect(ours()).toBe(reference());
    }
  });
});

describe('allocate', () => {
  it('rounds by largest remainder and sums to n', () => {
    expect(allocate(100, fractions)).toEqual([70, 15, 15]);
    expect(allocate(10, fractions)).toEqual([7, 2, 1]); // remainders .5/.5 tie: validation, listed first, wins
    expect(allocate(1461, fractions)).toEqual([1023, 219, 219]);
    for (let n = 0; n < 200; n++) expect(allocate(n, fractions).reduce((a, b) => a + b, 0)).toBe(n);
  });
  it('gives every part a row once there are 3 rows', () => {
    expect(allocate(3, fractions)).toEqual([1, 1, 1]);
    expect(allocate(4, fractions)).toEqual([2, 1, 1]);
    expect(allocate(2, fractions)).toEqual([2, 0, 0]);
    expect(allocate(1, fractions)).toEqual([1, 0, 0]);
    expect(allocate(5, { train: 0.9, validation: 0.05, test: 0.05 })).toEqual([3, 1, 1]);
  });
});

describe('splitRows', () => {
  it('partitions all rows by the fractions, each part sorted', () => {
    const parts = splitRows({ rowCount: 100, fractions, seed: 42, stratify: false });
    expect([parts.train.length, parts.validation.length, parts.test.length]).toEqual([70, 15, 15]);
    expect(all(parts)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([parts.train, parts.validation, parts.test].every(isAscending)).toBe(true);
    // shuffled, not cut in file order
    expect(Array.from(parts.train)).not.toEqual(Array.from({ length: 70 }, (_, i) => i));
  });

  it('is deterministic for a seed and changes with it', () => {
    const a = splitRows({ rowCount: 500, fractions, seed: 7, stratify: false });
    const b = splitRows({ rowCount: 500, fractions, seed: 7, stratify: false });
    const c = splitRows({ rowCount: 500, fractions, seed: 8, stratify: false });
    expect(b).toEqual(a);
    expect(c.membershipHash).not.toBe(a.membershipHash);
    expect(Array.from(c.test)).not.toEqual(Array.from(a.test));
  });

  it('gives the same split as every earlier run (pinned: a change here changes every recorded lineage)', () => {
    const parts = splitRows({ rowCount: 20, fractions, seed: 42, stratify: false });
    expect(Array.from(parts.validation)).toEqual([2, 7, 11]);
    expect(Array.from(parts.test)).toEqual([8, 12, 15]);
    // Also what Python gives for the documented encoding:
    // sha256(b''.join(struct.pack('<I', len(p)) + b''.join(struct.pack('<I', i) for i in p) for p in parts))
    expect(parts.membershipHash).toBe('6a5d3bed1ec847fd5e62e159d76b848c323ab74068997a0a817eeed32475511f');
  });

  it('hashes the documented encoding: per part, u32le count then u32le sorted indices', () => {
    const parts = splitRows({ rowCount: 50, fractions, seed: 1, stratify: false });
    const words = [parts.train, parts.validation, parts.test].flatMap((p) => [p.length, ...p]);
    const view = new DataView(new ArrayBuffer(words.length * 4));
    words.forEach((w, i) => view.setUint32(i * 4, w, true));
    const expected = createHash('sha256').update(new Uint8Array(view.buffer)).digest('hex');
    expect(parts.membershipHash).toBe(expected);
    expect(membershipHash(parts.train, parts.validation, parts.test)).toBe(expected);
    // moving one row between parts changes the hash
    expect(membershipHash(parts.train.subarray(1), Uint32Array.from([parts.train[0], ...parts.validation]).sort(), parts.test)).not.toBe(expected);
  });

  it('leaves out rows without a label', () => {
    const labels = ['a', null, 'b', 'a', null, 'b', 'a', 'b', 'a', 'b'];
    const parts = splitRows({ rowCount: 10, labels, fractions, seed: 3, stratify: false });
    expect(all(parts)).toEqual([0, 2, 3, 5, 6, 7, 8, 9]);
  });

  it('stratifies seattle-weather: each class split by the fractions, in every part', async () => {
    const table = inferTable(await readDatasetFile(SEATTLE_WEATHER_CSV));
    const labels = columnLabels(table, 'weather');
    const parts = splitRows({ rowCount: table.rowCount, labels, fractions, seed: 42, stratify: true });
    expect(all(parts)).toEqual(Array.from({ length: 1461 }, (_, i) => i));
    const classes = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
    const sizes = { drizzle: 53, fog: 101, rain: 641, snow: 26, sun: 640 } as Record<string, number>;
    for (const cls of classes) {
      const count = (rows: Uint32Array) => Array.from(rows).filter((r) => labels[r] === cls).length;
      expect([count(parts.train), count(parts.validation), count(parts.test)]).toEqual(allocate(sizes[cls], fractions));
    }
    const again = splitRows({ rowCount: table.rowCount, labels, fractions, seed: 42, stratify: true });
    expect(again.membershipHash).toBe(parts.membershipHash);
  });

  it('puts a row of every class with at least 3 rows in every part', () => {
    const labels = ['big', 'big', 'big', 'big', 'big', 'big', 'big', 'big', 'big', 'big', 'three', 'three', 'three', 'one', null];
    const parts = splitRows({ rowCount: labels.length, labels, fractions, seed: 11, stratify: true });
    for (const part of [parts.train, parts.validation, parts.test]) {
      const present = new Set(Array.from(part).map((r) => labels[r]));
      expect(present.has('big')).toBe(true);
      expect(present.has('three')).toBe(true);
    }
    expect(Array.from(parts.train)).toContain(13); // the single 'one' row trains
    expect(all(parts)).not.toContain(14);
  });

  it('does not depend on the order classes first appear in', () => {
    const labels = ['x', 'y', 'x', 'y', 'x', 'y', 'x', 'y'];
    const a = splitRows({ rowCount: 8, labels, fractions, seed: 5, stratify: true });
    const b = splitRows({ rowCount: 8, labels: labels.map((l) => (l === 'x' ? 'y' : 'x')), fractions, seed: 5, stratify: true });
    // swapping the names swaps which rows are visited first, so only the per-class counts must agree
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([b.train.length, b.validation.length, b.test.length]);
  });

  it('rejects bad input with a message saying what is wrong', () => {
    expect(() => splitRows({ rowCount: 10, fractions: { train: 0.7, validation: 0.2, test: 0.2 }, seed: 1, stratify: false })).toThrow(
      'fractions must add up to 1, got 1.1',
    );
    expect(() => splitRows({ rowCount: 3, labels: ['a'], fractions, seed: 1, stratify: true })).toThrow('labels has 1 entries but rowCount is 3');
    expect(() => splitRows({ rowCount: 3, fractions, seed: 1, stratify: true })).toThrow('stratify needs labels');
    expect(() => splitRows({ rowCount: -1, fractions, seed: 1, stratify: false })).toThrow('rowCount must be a non-negative integer');
    expect(() => splitRows({ rowCount: 3, fractions, seed: 1.5, stratify: false })).toThrow('seed must be an integer');
  });

  it('handles an empty table', () => {
    const parts = splitRows({ rowCount: 0, fractions, seed: 1, stratify: false });
    expect([parts.train.length, parts.validation.length, parts.test.length]).toEqual([0, 0, 0]);
    expect(parts.membershipHash).toBe(createHash('sha256').update(Buffer.alloc(12)).digest('hex'));
  });
});
