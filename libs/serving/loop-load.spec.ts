import { LoopLoad } from './loop-load';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the event loop runs this callback and nothing else
  }
}

describe('LoopLoad', () => {
  it('reports a loop that ran callbacks the whole interval as saturated, and one that slept as idle', async () => {
    const load = new LoopLoad();
    load.start();
    try {
      load.tick();
      await new Promise((r) => setTimeout(r, 150));
      const idle = load.tick();
      expect(idle.loopBusy).toBeLessThan(0.3);
      spin(150);
      const busy = load.tick();
      expect(busy.loopBusy).toBeGreaterThan(0.9);
      // one thread spinning: about one core of CPU
      expect(busy.cores).toBeGreaterThan(0.6);
      expect(busy.cores).toBeLessThan(1.5);
    } finally {
      load.stop();
    }
  });
});
