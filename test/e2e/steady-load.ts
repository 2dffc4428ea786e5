/**
 * Steady inference traffic for the zero-downtime tests, and the record of what was meant to serve meanwhile.
 *
 * `startSteadyLoad` keeps `concurrency` callers sending one request after another over loopback until it is stopped
 * or reaches its bounds (a request count and a deadline: it always stops by itself), and keeps every answer with
 * its send and receive times. `watchRouting` polls the model's desired routing in the registry, so each answer can
 * be checked against the routes that were in force while it was in flight.
 */
import type { RegistryService } from '../../libs/registry';

export interface LoadSample {
  sentAt: number;
  receivedAt: number;
  status: number;
  /** the version that answered (the OIP `model_version`), when the call succeeded */
  version?: number;
  /** the error body or the network error, when it did not */
  error?: string;
}

export interface SteadyLoad {
  /** Stops sending, waits for the requests in flight, and returns every sample in send order. */
  stop(): Promise<LoadSample[]>;
  /** answers received so far */
  count(): number;
}

export interface SteadyLoadOptions {
  url: string;
  key: string;
  /** one OIP v2 request body, sent over and over */
  body: unknown;
  concurrency: number;
  /** hard bounds: the load stops by itself after this many requests or this long, whichever comes first */
  maxRequests: number;
  maxMs: number;
}

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const samples: LoadSample[] = [];
  const deadline = Date.now() + options.maxMs;
  const payload = JSON.stringify(options.body);
  let stopped = false;
  let sent = 0;
  const caller = async (): Promise<void> => {
    while (!stopped && sent < options.maxRequests && Date.now() < deadline) {
      sent++;
      const sample: LoadSample = { sentAt: Date.now(), receivedAt: 0, status: 0 };
      try {
        const res = await fetch(options.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
          body: payload,
        });
        const text = await res.text();
        sample.status = res.status;
        if (res.ok) sample.version = Number((JSON.parse(text) as { model_version: string }).model_version);
        else sample.error = text.slice(0, 500);
      } catch (err) {
        sample.error = (err as Error).message;
      }
      sample.receivedAt = Date.now();
      samples.push(sample);
    }
  };
  const callers = Array.from({ length: options.concurrency }, caller);
  return {
    async stop() {
      stopped = true;
      await Promise.all(callers);
      return [...samples].sort((a, b) => a.sentAt - b.sentAt);
    },
    count: () => samples.length,
  };
}

/** One routing the registry held: first seen at `seenAt`, written after `after` (the poll before). */
export interface RoutingObservation {
  revision: number;
  versions: number[];
  after: number;
  seenAt: number;
}

export interface RoutingWatch {
  stop(): Promise<RoutingObservation[]>;
}

/**
 * Polls the model's Deployment row every `everyMs` and records each new revision with the versions it routes to
 * (weight > 0; the shadow target is not among them: its answers are discarded). Before any rollout there is no row
 * and the champion takes all traffic: that is revision 0.
 */
export function watchRouting(registry: RegistryService, modelId: string, everyMs = 20): RoutingWatch {
  const seen: RoutingObservation[] = [];
  let stopped = false;
  let lastPoll = Date.now();
  const poll = async (): Promise<void> => {
    while (!stopped) {
      const polledAt = Date.now();
      const deployment = await registry.findDeployment(modelId);
      const revision = deployment?.revision ?? 0;
      if (seen.at(-1)?.revision !== revision) {
        const versions = deployment
          ? deployment.routes.filter((r) => r.weight > 0).map((r) => r.version)
          : [(await registry.findChampion(modelId))!.version];
        seen.push({ revision, versions, after: lastPoll, seenAt: Date.now() });
      }
      lastPoll = polledAt;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };
  const running = poll();
  return {
    async stop() {
      stopped = true;
      await running;
      return seen;
    },
  };
}

/**
 * The versions that were meant to serve at some moment while a request was in flight ([sentAt, receivedAt]): a
 * routing is in force from its write (after `after`) until a replica has applied the next one, which it does
 * within its reconcile interval of the write; `applyLagMs` bounds that.
 */
export function versionsMeantToServe(routings: RoutingObservation[], sample: LoadSample, applyLagMs: number): Set<number> {
  const allowed = new Set<number>();
  routings.forEach((routing, i) => {
    const from = routing.after;
    const next = routings[i + 1];
    const until = next ? next.seenAt + applyLagMs : Number.POSITIVE_INFINITY;
    if (from <= sample.receivedAt && until >= sample.sentAt) routing.versions.forEach((v) => allowed.add(v));
  });
  return allowed;
}
