import { RunCostModel } from './run-cost';

describe('RunCostModel', () => {
  it('separates the fixed cost of a run from its cost per row once batch sizes vary', () => {
    const m = new RunCostModel();
    for (let i = 0; i < 40; i++) {
      const rows = [1, 8, 32, 64][i % 4];
      m.observe(rows, 0.05 + 0.002 * rows);
    }
    expect(m.estimate.fixedMs).toBeCloseTo(0.05, 6);
    expect(m.estimate.perRowMs).toBeCloseTo(0.002, 6);
    expect(m.predict(100)).toBeCloseTo(0.25, 6);
    // (0.501 - 0.05) / 0.002 = 225.5: 225 rows fit a 0.501 ms budget
    expect(m.rowsWithin(0.501)).toBe(225);
  });

  it('charges everything to rows while only one batch size has been seen (never predicts a larger batch too cheap)', () => {
    const m = new RunCostModel();
    for (let i = 0; i < 10; i++) m.observe(1, 0.06);
    expect(m.estimate).toEqual({ fixedMs: 0, perRowMs: expect.closeTo(0.06, 9) });
    expect(m.predict(10)).toBeCloseTo(0.6, 9);
    expect(m.rowsWithin(0.5)).toBe(8);
  });

  it('says no row fits when one row alone is over the budget', () => {
    const m = new RunCostModel();
    for (let i = 0; i < 10; i++) m.observe(i % 2 ? 1 : 4, i % 2 ? 3 : 6);
    expect(m.rowsWithin(0.5)).toBe(0);
  });

  it('follows a change in cost: recent runs outweigh old ones', () => {
    const m = new RunCostModel();
    for (let i = 0; i < 50; i++) m.observe(1 + (i % 8), 0.1 * (1 + (i % 8)));
    for (let i = 0; i < 300; i++) m.observe(1 + (i % 8), 0.02 * (1 + (i % 8)));
    expect(m.predict(8)).toBeLessThan(0.2);
  });

  it('ignores a run far slower than predicted (a descheduled thread) once it has enough runs', () => {
    const m = new RunCostModel();
    for (let i = 0; i < 20; i++) m.observe(1 + (i % 4), 0.01 + 0.01 * (1 + (i % 4)));
    const before = m.predict(2);
    m.observe(2, 50);
    expect(m.predict(2)).toBeCloseTo(before, 9);
    expect(m.samples).toBe(20);
  });

  it('learns from a run far larger than any seen, however far its time is from the extrapolation', () => {
    const m = new RunCostModel();
    // small runs barely show the per-row cost: 0.05 ms fixed, ~0 per row
    for (let i = 0; i < 20; i++) m.observe(1 + (i % 4), 0.05 + 0.00001 * (1 + (i % 4)));
    expect(m.predict(50_000)).toBeLessThan(1);
    m.observe(50_000, 30); // the real cost of a large batch: 0.6 µs a row
    expect(m.samples).toBe(21);
    expect(m.predict(50_000)).toBeGreaterThan(10);
    // within the sizes now seen, a run 10× slower than predicted is again a descheduled thread
    m.observe(40_000, 1_000);
    expect(m.samples).toBe(21);
  });

  it('ignores values that are not timings', () => {
    const m = new RunCostModel();
    m.observe(0, 1);
    m.observe(1, NaN);
    m.observe(1, -1);
    expect(m.samples).toBe(0);
    expect(m.predict(10)).toBe(0);
  });
});
