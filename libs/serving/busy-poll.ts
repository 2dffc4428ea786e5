/**
 * Busy polling after an answer: for a short window after each response, the event loop keeps polling its sockets
 * without blocking, so a request that follows soon is read at once instead of after the thread was put to sleep and
 * woken again. Waking a sleeping thread costs tens of microseconds on virtual machines (the idle vCPU has to be
 * scheduled again), which at one request in flight is a sizeable share of a small model's whole answer. The same
 * trade onnxruntime makes when its threads spin between runs, and Linux's socket busy polling: CPU for latency.
 *
 * Adaptive, so it only spends CPU where it pays: a window opens only while the recent gap between an answer and the
 * next request (an exponential moving average) fits inside it. Sparse traffic, whose next request comes long after
 * the window, never spins; a client that keeps one request in flight, or a busy server, does. A window closes early
 * when a request arrives. The loop turns that did nothing but poll are counted (`spunMs`), so load figures can leave
 * them out: the event loop's utilization reads as busy while it polls.
 */

/** How much each new gap moves the average (1/8: a handful of requests to adapt, one outlier does not flip it). */
const GAP_WEIGHT = 1 / 8;
/**
 * A loop turn shorter than this did nothing but poll (ms): a turn that read a request or ran anything else of note
 * takes longer. Only such turns count as polling, so a busy loop, whose windows are full of other work, counts none.
 */
const IDLE_TURN_MS = 0.05;

export interface BusyPollClock {
  now(): number;
  /** runs `fn` after the event loop's next poll for I/O (setImmediate) */
  afterPoll(fn: () => void): void;
}

const realClock: BusyPollClock = { now: () => performance.now(), afterPoll: (fn) => setImmediate(fn) };

export class BusyPoll {
  /** moving average of answer → next request, ms; undefined until one was seen */
  private gapMs: number | undefined;
  private lastAnswerAt: number | undefined;
  /** the open window's end; 0 when none is open */
  private until = 0;
  private scheduled = false;
  private lastTurnAt = 0;
  private spun = 0;

  /** `windowMs` 0 switches busy polling off. */
  constructor(
    readonly windowMs: number,
    private readonly clock: BusyPollClock = realClock,
  ) {}

  /** Time the loop spent in turns that only polled, inside windows (ms). */
  get spunMs(): number {
    return this.spun;
  }

  /** The recent gap between an answer and the next request (ms), for tests and diagnostics. */
  get averageGapMs(): number | undefined {
    return this.gapMs;
  }

  /** A request arrived at `at` (performance.now()): learn the gap since the last answer, and close the window. */
  arrived(at: number): void {
    if (this.lastAnswerAt !== undefined) {
      const gap = Math.max(0, at - this.lastAnswerAt);
      this.gapMs = this.gapMs === undefined ? gap : this.gapMs + (gap - this.gapMs) * GAP_WEIGHT;
    }
    this.until = 0;
  }

  /** An answer was written: open (or extend) a window when the next request usually comes within one. */
  answered(): void {
    const now = this.clock.now();
    this.lastAnswerAt = now;
    if (this.windowMs <= 0 || this.gapMs === undefined || this.gapMs > this.windowMs) return;
    this.until = now + this.windowMs;
    if (!this.scheduled) {
      this.scheduled = true;
      this.lastTurnAt = now;
      this.clock.afterPoll(this.tick);
    }
  }

  /** One turn of the window: while it is open, another callback after the next poll keeps that poll from blocking. */
  private readonly tick = (): void => {
    const now = this.clock.now();
    const turn = now - this.lastTurnAt;
    if (turn < IDLE_TURN_MS) this.spun += turn;
    this.lastTurnAt = now;
    if (now < this.until) this.clock.afterPoll(this.tick);
    else this.scheduled = false;
  };
}
