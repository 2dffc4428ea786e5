import { LoopLoad } from './loop-load';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the event loop runs this callback and nothing else
  }
}

describe('LoopLoad', () => {
  it('reports a loop that ran callbacks the whole interval as saturated, and one that slept as idle', async () => {
    // The test takes the samples itself: a timer's sample in the same loop turn as the test's own (a machine busy
    // enough to delay both timers) would leave the test's interval no idle time at all.
    const load = new LoopLoad(60_000);
    load.start();
    try {
      load.tick();
      // Long enough that what else runs in a test worker on a loaded machine (its own messages, a GC) stays a small
      // share of the interval: an idle loop reads ~0, a saturated one ~1.
      await new Promise((r) => setTimeout(r, 500));
      const idle = load.tick();
      expect(idle.loopBusy).toBeLessThan(0.5);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      spin(150);
      const cpu = process.cpuUsage(cpu0);
      const spun = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
      const busy = load.tick();
      expect(busy.loopBusy).toBeGreaterThan(0.9);
      // the cores the process used while spinning: one at most, less when the machine is shared
      expect(busy.cores).toBeGreaterThan(0);
      expect(Math.abs(busy.cores - spun)).toBeLessThan(0.25);
    } finally {
      load.stop();
    }
  });

  it('leaves time spent busy polling for the next request out of the busy share and the cores used', () => {
    const polling = { spunMs: 0 };
    const load = new LoopLoad(60_000, polling);
    load.start();
    try {
      load.tick();
      const t0 = performance.now();
      spin(100);
      // the whole interval was a busy-poll window: the loop had no work
      polling.spunMs += performance.now() - t0;
      const sample = load.tick();
      expect(sample.loopBusy).toBeLessThan(0.2);
      expect(sample.cores).toBeLessThan(0.2);
    } finally {
      load.stop();
    }
  });
});
