/** Ports and readiness for the test servers: free ports, and waiting with a deadline instead of sleeping. */
import * as net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** A port nothing listens on right now. Another process may take it before we use it; callers retry on that. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when we could listen on host:port ourselves. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function tcpOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Status of a GET, or 0 when nothing answered within the timeout. */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return 0;
  }
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Returns a reason once waiting has become pointless (the process we wait for died). */
  givenUp?: () => string | undefined;
}

/** Polls `probe` until it returns true; throws after the deadline or as soon as `givenUp` returns a reason. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, options: WaitOptions = {}): Promise<number> {
  const { timeoutMs = 60_000, intervalMs = 200, givenUp } = options;
  const started = Date.now();
  for (;;) {
    const reason = givenUp?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await delay(intervalMs);
  }
}
