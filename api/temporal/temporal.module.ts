/**
 * The API's Temporal client. Connecting retries for a bounded time, so the API can start beside a Temporal server
 * that is still booting. Calls retry briefly and then fail, so an HTTP request answers 503 within seconds instead
 * of hanging while Temporal is down (callers retry; run starts are idempotent). The API starts and queries
 * workflows by name only and never imports workflow code.
 */
import { Global, Inject, Logger, Module } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';

/** Injection token of the Temporal `Client`. */
export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');

/** How long boot waits for Temporal before giving up (same as the worker). */
const CONNECT_TIMEOUT_MS = 60_000;

/** Per-call retries of transient gRPC errors: ~0.6 s in all, against the SDK default of ~20 s. */
const CALL_ATTEMPTS = 4;

/**
 * Tracks scheduled call retries, so shutdown can wait for them: a retry that fires after the connection closed
 * would throw from a timer and crash the process on its way out.
 */
class RetryGate {
  private closing = false;
  private lastRetryAt = 0;
  private readonly base = defaultGrpcRetryOptions({ maxAttempts: CALL_ATTEMPTS });

  readonly interceptor = makeGrpcRetryInterceptor({
    retryableDecider: (attempt, status) => !this.closing && this.base.retryableDecider(attempt, status),
    delayFunction: (attempt, status) => {
      const delay = this.base.delayFunction(attempt, status);
      this.lastRetryAt = Math.max(this.lastRetryAt, Date.now() + delay);
      return delay;
    },
  });

  /** Stops new retries and waits for the scheduled ones to have run. */
  async drain(): Promise<void> {
    this.closing = true;
    const wait = this.lastRetryAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 50));
  }
}

export async function connectWithRetry(address: string, timeoutMs: number, logger: Logger, gate: RetryGate): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await Connection.connect({ address, connectTimeout: '5s', interceptors: [gate.interceptor] });
    } catch (err) {
      if (Date.now() >= deadline) {
        throw new Error(`could not connect to Temporal at ${address} within ${Math.round(timeoutMs / 1000)} s: ${(err as Error).message}`);
      }
      if (attempt === 1) logger.warn(`Temporal at ${address} is not answering yet; retrying for up to ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * attempt, 5000)));
    }
  }
}

const RETRY_GATE = Symbol('TEMPORAL_RETRY_GATE');

@Global()
@Module({
  providers: [
    { provide: RETRY_GATE, useFactory: () => new RetryGate() },
    {
      provide: TEMPORAL_CLIENT,
      inject: [APP_CONFIG, RETRY_GATE],
      useFactory: async (config: AppConfig, gate: RetryGate): Promise<Client> => {
        const connection = await connectWithRetry(config.temporal.address, CONNECT_TIMEOUT_MS, new Logger('temporal'), gate);
        return new Client({ connection, namespace: config.temporal.namespace });
      },
    },
  ],
  exports: [TEMPORAL_CLIENT],
})
export class TemporalModule implements OnApplicationShutdown {
  private readonly logger = new Logger('temporal');
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(RETRY_GATE) private readonly gate: RetryGate,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.gate.drain();
    await this.client.connection.close();
    this.logger.log('Temporal connection closed');
  }
}
