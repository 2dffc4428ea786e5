import { BusyPoll } from './busy-poll';
import type { BusyPollClock } from './busy-poll';

/** A clock the test moves by hand, whose after-poll callbacks run when the test says a loop turn passed. */
class ManualClock implements BusyPollClock {
  t = 0;
  private queued: (() => void)[] = [];
  now(): number {
    return this.t;
  }
  afterPoll(fn: () => void): void {
    this.queued.push(fn);
  }
  get pending(): number {
    return this.queued.length;
  }
  /** one loop turn, `ms` after the last */
  turn(ms: number): void {
    this.t += ms;
    const run = this.queued;
    this.queued = [];
    for (const fn of run) fn();
  }
}

/** A closed-loop caller: answer, then the next request `gapMs` later, `n` times. */
function traffic(poll: BusyPoll, clock: ManualClock, gapMs: number, n: number): void {
  for (let i = 0; i < n; i++) {
    poll.answered();
    clock.turn(gapMs);
    poll.arrived(clock.t);
    clock.turn(0.3); // the next answer's work
  }
}

describe('BusyPoll', () => {
  it('polls after an answer once requests are seen to follow answers within the window, until the next request', () => {
    const clock = new ManualClock();
    const poll = new BusyPoll(0.2, clock);
    poll.answered();
    // nothing learned yet: the loop may sleep
    expect(clock.pending).toBe(0);
    clock.turn(0.05);
    poll.arrived(clock.t);
    expect(poll.averageGapMs).toBeCloseTo(0.05);

    poll.answered();
    expect(clock.pending).toBe(1);
    clock.turn(0.03);
    // still inside the window: polls on
    expect(clock.pending).toBe(1);
    clock.turn(0.03);
    poll.arrived(clock.t);
    expect(poll.spunMs).toBeCloseTo(0.06, 6);
    // the request closed the window: the turn that answers it ends the polling, and is work, not polling
    clock.turn(0.3);
    expect(clock.pending).toBe(0);
    expect(poll.spunMs).toBeCloseTo(0.06, 6);
  });

  it('stops at the end of the window when no request comes, and counts only the window', () => {
    const clock = new ManualClock();
    const poll = new BusyPoll(0.2, clock);
    traffic(poll, clock, 0.04, 3);
    const before = poll.spunMs;
    poll.answered();
    for (let i = 0; i < 10; i++) clock.turn(0.04);
    expect(clock.pending).toBe(0);
    expect(poll.spunMs - before).toBeCloseTo(0.2, 6);
  });

  it('counts no polling when the window is full of other work (a busy loop)', () => {
    const clock = new ManualClock();
    const poll = new BusyPoll(0.2, clock);
    traffic(poll, clock, 0, 3);
    const before = poll.spunMs;
    poll.answered();
    // each turn reads and answers other requests
    for (let i = 0; i < 3; i++) clock.turn(0.1);
    expect(poll.spunMs).toBe(before);
  });

  it('never polls for sparse traffic, and stops once traffic turns sparse', () => {
    const clock = new ManualClock();
    const poll = new BusyPoll(0.2, clock);
    traffic(poll, clock, 5, 20);
    expect(poll.spunMs).toBe(0);

    traffic(poll, clock, 0.04, 40);
    expect(poll.spunMs).toBeGreaterThan(0);
    // requests now come 5 ms after each answer: within a few, the average leaves the window and polling stops
    traffic(poll, clock, 5, 5);
    const settled = poll.spunMs;
    traffic(poll, clock, 5, 20);
    expect(poll.averageGapMs!).toBeGreaterThan(0.2);
    expect(poll.spunMs).toBe(settled);
  });

  it('is off with a window of 0', () => {
    const clock = new ManualClock();
    const poll = new BusyPoll(0, clock);
    traffic(poll, clock, 0.01, 20);
    expect(clock.pending).toBe(0);
    expect(poll.spunMs).toBe(0);
  });

  it('keeps the real event loop from sleeping for the window, then lets it sleep', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const poll = new BusyPoll(40);
    poll.answered();
    poll.arrived(performance.now());
    const before = performance.eventLoopUtilization();
    poll.answered();
    await sleep(25);
    // a timer wait inside the window: the loop polled without blocking, so it was never idle
    const during = performance.eventLoopUtilization(before);
    expect(during.utilization).toBeGreaterThan(0.8);
    await sleep(30);
    const closed = poll.spunMs;
    // polling turns were counted (fewer than the window's length when the machine is busy: a turn the thread was
    // preempted in takes longer than a polling turn), and none after the window
    expect(closed).toBeGreaterThan(0);
    expect(closed).toBeLessThan(55);
    const after = performance.eventLoopUtilization();
    await sleep(50);
    // the window is over: the same wait sleeps
    expect(performance.eventLoopUtilization(after).utilization).toBeLessThan(0.5);
    expect(poll.spunMs).toBe(closed);
  });
});
