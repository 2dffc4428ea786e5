/**
 * How busy this process is, sampled a few times a second: the share of time its event loop was busy
 * (performance.eventLoopUtilization) and the cores it used (process.cpuUsage, all threads). The inference pool
 * uses it to decide where cheap batches run: on the event loop while it has room, on an inference thread when the
 * loop is the bottleneck and the process has cores to spare (pool.ts). Time the loop spent busy polling for the next
 * request (busy-poll.ts) is left out of both: it reads as busy, but is given up as soon as there is work.
 */
import { performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';

export interface LoadSample {
  /** 0..1: the share of the last interval the event loop was running callbacks */
  loopBusy: number;
  /** CPU seconds per second used by the process (every thread) over the last interval */
  cores: number;
}

export class LoopLoad {
  private timer: NodeJS.Timeout | undefined;
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private cpu = process.cpuUsage();
  private at = performance.now();
  private current: LoadSample = { loopBusy: 0, cores: 0 };
  private spun = 0;

  constructor(
    private readonly intervalMs = 100,
    private readonly busyPoll?: { readonly spunMs: number },
  ) {}

  get sample(): LoadSample {
    return this.current;
  }

  start(): void {
    if (this.timer) return;
    this.reset();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private reset(): void {
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    this.at = performance.now();
    this.spun = this.busyPoll?.spunMs ?? 0;
  }

  /** Takes a sample now (the timer calls it; tests call it directly). */
  tick(): LoadSample {
    const now = performance.now();
    const elapsedMs = now - this.at;
    if (elapsedMs <= 0) return this.current;
    // One reading of each, used as the difference from the last and as the start of the next interval: reading the
    // CPU time (getrusage) is a system call that sums every thread of the process.
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const busy = performance.eventLoopUtilization(elu, this.elu);
    const spun = this.busyPoll?.spunMs ?? 0;
    const polling = (spun - this.spun) / elapsedMs;
    this.current = {
      loopBusy: Math.max(0, busy.utilization - polling),
      cores: Math.max(0, (cpu.user - this.cpu.user + cpu.system - this.cpu.system) / 1000 / elapsedMs - polling),
    };
    this.elu = elu;
    this.cpu = cpu;
    this.at = now;
    this.spun = spun;
    return this.current;
  }
}
