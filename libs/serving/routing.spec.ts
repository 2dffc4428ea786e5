import { buildRoutingTable, fnv1a32, pickVersion, RoutingError, ROUTING_BUCKETS, shouldMirror, stickyBucket } from './routing';

/** A seeded uniform generator, so distribution checks are exact and repeatable. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('buildRoutingTable', () => {
  it('lays versions out in ascending order with their weights', () => {
    const t = buildRoutingTable('m', 3, [{ version: 2, weight: 10 }, { version: 1, weight: 90 }], { version: 3, share: 20 }, 'X-User');
    expect(t.wheel).toEqual([
      { version: 1, upTo: 9000 },
      { version: 2, upTo: ROUTING_BUCKETS },
    ]);
    expect(t.versions).toEqual([1, 2, 3]);
    expect(t.shadow).toEqual({ version: 3, share: 20 });
    expect(t.stickyKeyHeader).toBe('x-user');
  });

  it('keeps weight-0 versions loaded but off the wheel, and drops a 0% shadow', () => {
    const t = buildRoutingTable('m', 1, [{ version: 1, weight: 0 }, { version: 2, weight: 100 }], { version: 1, share: 0 }, null);
    expect(t.wheel).toEqual([{ version: 2, upTo: ROUTING_BUCKETS }]);
    expect(t.versions).toEqual([1, 2]);
    expect(t.shadow).toBeNull();
  });

  it('refuses weights that do not add up to 100, duplicates and bad numbers', () => {
    expect(() => buildRoutingTable('m', 1, [{ version: 1, weight: 50 }], null, null)).toThrow(new RoutingError('route weights add up to 50, not 100'));
    expect(() => buildRoutingTable('m', 1, [{ version: 1, weight: 50 }, { version: 1, weight: 50 }], null, null)).toThrow(/appears twice/);
    expect(() => buildRoutingTable('m', 1, [{ version: 0, weight: 100 }], null, null)).toThrow(/not a positive integer/);
    expect(() => buildRoutingTable('m', 1, [{ version: 1, weight: 120 }, { version: 2, weight: -20 }], null, null)).toThrow(/not within 0..100/);
  });

  it('accepts a deployment that routes nothing (the model takes no traffic)', () => {
    const t = buildRoutingTable('m', 4, [], null, null);
    expect(t.wheel).toEqual([]);
    expect(t.versions).toEqual([]);
    expect(() => pickVersion(t, undefined)).toThrow(new RoutingError("revision 4 of 'm' routes no traffic"));
  });
});

describe('pickVersion', () => {
  it('splits random traffic by weight', () => {
    const t = buildRoutingTable('m', 1, [{ version: 1, weight: 70 }, { version: 2, weight: 30 }], null, null);
    const random = seeded(42);
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const v = pickVersion(t, undefined, random).version;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect(counts.get(1)! / 20_000).toBeCloseTo(0.7, 1);
    expect(counts.get(2)! / 20_000).toBeCloseTo(0.3, 1);
  });

  it('always sends a sticky key to the same version, whatever the random draw', () => {
    const t = buildRoutingTable('m', 1, [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], null, 'x-user');
    for (const key of ['alice', 'bob', 'carol', 'user-17', 'ünïcødé']) {
      const first = pickVersion(t, key, () => 0).version;
      for (const r of [0.01, 0.49, 0.51, 0.99]) expect(pickVersion(t, key, () => r)).toEqual({ version: first, sticky: true });
    }
  });

  it('spreads sticky keys by weight', () => {
    const t = buildRoutingTable('m', 1, [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], null, 'x-user');
    let v2 = 0;
    for (let i = 0; i < 10_000; i++) if (pickVersion(t, `user-${i}`).version === 2) v2++;
    expect(v2 / 10_000).toBeCloseTo(0.5, 1);
  });

  it('moves only the keys in the shifted range when a canary grows', () => {
    const at10 = buildRoutingTable('m', 1, [{ version: 1, weight: 90 }, { version: 2, weight: 10 }], null, 'x-user');
    const at50 = buildRoutingTable('m', 2, [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], null, 'x-user');
    for (let i = 0; i < 5_000; i++) {
      const key = `k${i}`;
      if (pickVersion(at10, key).version === 2) expect(pickVersion(at50, key).version).toBe(2);
    }
  });

  it('ignores the sticky key without a sticky header, and the header without a key', () => {
    const t = buildRoutingTable('m', 1, [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], null, null);
    expect(pickVersion(t, 'alice', () => 0.99)).toEqual({ version: 2, sticky: false });
    const sticky = buildRoutingTable('m', 1, [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], null, 'x-user');
    expect(pickVersion(sticky, undefined, () => 0)).toEqual({ version: 1, sticky: false });
  });

  it('hashes keys stably and per model', () => {
    expect(fnv1a32('hello')).toBe(fnv1a32('hello'));
    expect(fnv1a32('hello')).not.toBe(fnv1a32('hellp'));
    expect(stickyBucket('a', 'key')).toBeGreaterThanOrEqual(0);
    expect(stickyBucket('a', 'key')).toBeLessThan(ROUTING_BUCKETS);
    const sameForBoth = Array.from({ length: 200 }, (_, i) => stickyBucket('model-a', `k${i}`) === stickyBucket('model-b', `k${i}`)).filter(Boolean).length;
    expect(sameForBoth).toBeLessThan(5);
  });
});

describe('shouldMirror', () => {
  it('mirrors the configured share, never to the version that answered', () => {
    const t = buildRoutingTable('m', 1, [{ version: 1, weight: 100 }], { version: 2, share: 25 }, null);
    const random = seeded(7);
    let mirrored = 0;
    for (let i = 0; i < 10_000; i++) if (shouldMirror(t, 1, random) === 2) mirrored++;
    expect(mirrored / 10_000).toBeCloseTo(0.25, 1);
    expect(shouldMirror(t, 2, () => 0)).toBeNull();
    expect(shouldMirror(buildRoutingTable('m', 1, [{ version: 1, weight: 100 }], null, null), 1, () => 0)).toBeNull();
  });
});
