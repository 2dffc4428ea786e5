/**
 * Several API processes sharing one port (node:cluster, MLCYCLE_API_PROCESSES > 1). One Node process answers HTTP on
 * one event loop, and under load that loop, not inference, is what runs out: parsing, routing, writing answers.
 * Each process is a full serving replica with its own replica ID, reconcile loop and inference threads, so a
 * rollout waits for every one of them, exactly as it waits for replicas on other hosts.
 *
 * The primary process serves nothing. It starts the processes, replaces one that dies (a crash loop stops the
 * whole API instead of spinning), passes a shutdown on to all of them, and answers /metrics for the group: a
 * scrape reaches one process, which asks the primary to collect every process's metrics and merge them.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { Logger } from '@nestjs/common';
import { mergeExpositions } from '../libs/serving/prometheus';

/** Environment variable that tells a process its index (1..N) in the group. */
export const API_WORKER_ENV = 'MLCYCLE_API_WORKER';

type ClusterMessage =
  | { mlcycle: 'metrics-request'; id: number }
  | { mlcycle: 'metrics-render'; id: number }
  | { mlcycle: 'metrics-rendered'; id: number; text: string }
  | { mlcycle: 'metrics-result'; id: number; text: string }
  | { mlcycle: 'shutdown' };

function isClusterMessage(msg: unknown): msg is ClusterMessage {
  return typeof msg === 'object' && msg !== null && typeof (msg as { mlcycle?: unknown }).mlcycle === 'string';
}

/** How long the primary waits for the processes' metrics before it answers with what it has. */
const METRICS_COLLECT_MS = 2_000;
/** A process that dies sooner than this after starting counts towards a crash loop. */
const EARLY_EXIT_MS = 10_000;
const MAX_EARLY_EXITS = 5;
const RESTART_DELAY_MS = 1_000;
/** After this long, processes that have not finished a graceful shutdown are killed. */
const SHUTDOWN_GRACE_MS = 30_000;

/** The index (1..N) of this process in the API group, or undefined when it runs alone. */
export function apiWorkerIndex(): number | undefined {
  const index = Number(process.env[API_WORKER_ENV]);
  return cluster.isWorker && Number.isInteger(index) && index > 0 ? index : undefined;
}

/**
 * How connections reach the processes: from the one listening socket they share, each taken by whichever process
 * accepts it first (SCHED_NONE), not accepted by the primary and passed on (round robin, Node's default on Linux).
 * With round robin, a connection passed to a process that dies before accepting it stays open in the primary, and its
 * client waits for an answer that never comes; with a shared socket, a connection waits in the kernel's queue until a
 * live process takes it. The serving benchmark measured no difference in throughput (bench/serving/RESULTS.md).
 * NODE_CLUSTER_SCHED_POLICY=rr, Node's own switch, still selects round robin.
 */
function connectionSchedulingPolicy(): number {
  return process.env.NODE_CLUSTER_SCHED_POLICY === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
}

/** Runs the primary of an API group of `processes`; resolves when every process has exited after a shutdown. */
export function runClusterPrimary(processes: number): Promise<number> {
  const logger = new Logger('cluster');
  // fixed by the first fork
  cluster.schedulingPolicy = connectionSchedulingPolicy();
  const indexOf = new Map<number, { index: number; startedAt: number }>();
  let shuttingDown = false;
  let earlyExits = 0;
  let exitCode = 0;
  let nextMetricsId = 1;
  const collections = new Map<number, { texts: Array<{ worker: string; text: string }>; waiting: Set<number>; done: () => void }>();

  const start = (index: number): Worker => {
    const worker = cluster.fork({ [API_WORKER_ENV]: String(index) });
    indexOf.set(worker.id, { index, startedAt: Date.now() });
    worker.on('message', (msg: unknown) => {
      if (isClusterMessage(msg)) onMessage(worker, msg);
    });
    return worker;
  };

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());

  const onMessage = (from: Worker, msg: ClusterMessage): void => {
    if (msg.mlcycle === 'metrics-request') {
      const id = nextMetricsId++;
      const targets = live();
      const texts: Array<{ worker: string; text: string }> = [];
      const waiting = new Set(targets.map((w) => w.id));
      let answered = false;
      const done = () => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        collections.delete(id);
        texts.sort((a, b) => Number(a.worker) - Number(b.worker));
        if (from.isConnected()) from.send({ mlcycle: 'metrics-result', id: msg.id, text: mergeExpositions(texts) } satisfies ClusterMessage);
      };
      const timer = setTimeout(done, METRICS_COLLECT_MS);
      collections.set(id, { texts, waiting, done });
      for (const w of targets) w.send({ mlcycle: 'metrics-render', id } satisfies ClusterMessage);
      if (!waiting.size) done();
    } else if (msg.mlcycle === 'metrics-rendered') {
      const collection = collections.get(msg.id);
      if (!collection || !collection.waiting.delete(from.id)) return;
      collection.texts.push({ worker: String(indexOf.get(from.id)?.index ?? from.id), text: msg.text });
      if (!collection.waiting.size) collection.done();
    }
  };

  return new Promise<number>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const info = indexOf.get(worker.id);
      indexOf.delete(worker.id);
      for (const c of collections.values()) if (c.waiting.delete(worker.id) && !c.waiting.size) c.done();
      if (shuttingDown) {
        if (code) exitCode = code;
        if (!live().length && !indexOf.size) resolve(exitCode);
        return;
      }
      const why = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!info) return;
      earlyExits = Date.now() - info.startedAt < EARLY_EXIT_MS ? earlyExits + 1 : 0;
      if (earlyExits >= MAX_EARLY_EXITS) {
        logger.error(`API process ${info.index} stopped (${why}); ${MAX_EARLY_EXITS} processes died within ${EARLY_EXIT_MS / 1000} s of starting, so the API stops`);
        exitCode = 1;
        shutdown();
        if (!indexOf.size) resolve(exitCode);
        return;
      }
      logger.error(`API process ${info.index} stopped (${why}); starting a new one`);
      setTimeout(() => {
        if (!shuttingDown) start(info.index);
      }, RESTART_DELAY_MS).unref();
    });

    const shutdown = (): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      // A process that got the signal itself (Ctrl-C reaches the whole process group) ignores the message.
      for (const w of live()) w.send({ mlcycle: 'shutdown' } satisfies ClusterMessage);
      setTimeout(() => {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      }, SHUTDOWN_GRACE_MS).unref();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);

    logger.log(`starting ${processes} API processes on one port`);
    for (let i = 1; i <= processes; i++) start(i);
  });
}

/**
 * The process side: answers the primary's requests to render this process's metrics, collects the group's metrics
 * for a scrape, and shuts down gracefully when the primary says so.
 */
export class ClusterMember {
  private nextId = 1;
  private readonly waiting = new Map<number, (text: string) => void>();
  private stopping = false;

  constructor(private readonly renderLocal: () => string) {
    // Once only: Nest's shutdown hook raises the signal again when it is done, expecting no listener to be left.
    const onSignal = () => (this.stopping = true);
    process.prependOnceListener('SIGINT', onSignal);
    process.prependOnceListener('SIGTERM', onSignal);
    process.on('message', (msg: unknown) => {
      if (!isClusterMessage(msg)) return;
      if (msg.mlcycle === 'metrics-render') {
        process.send?.({ mlcycle: 'metrics-rendered', id: msg.id, text: this.renderLocal() } satisfies ClusterMessage);
      } else if (msg.mlcycle === 'metrics-result') {
        this.waiting.get(msg.id)?.(msg.text);
        this.waiting.delete(msg.id);
      } else if (msg.mlcycle === 'shutdown' && !this.stopping) {
        // The same path as a signal: Nest's shutdown hooks drain serving and close the registry.
        process.kill(process.pid, 'SIGTERM');
      }
    });
  }

  /** The whole group's metrics; this process's own if the primary does not answer in time. */
  collect(): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(this.renderLocal());
      }, METRICS_COLLECT_MS + 1_000);
      this.waiting.set(id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      process.send?.({ mlcycle: 'metrics-request', id } satisfies ClusterMessage);
    });
  }
}
