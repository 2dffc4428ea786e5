// Ports and readiness: is a port free, who holds it, and waiting (with a deadline, never a blind sleep) until a
// service answers.
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

import { LaunchError, seconds } from './log.mjs';

/** True when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function isPortFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel considers free right now (it may be taken again before it is used; callers retry). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Best effort, for error messages only: "pid 123 (minio)" for the process listening on a TCP port, or ''. */
export function describePortHolder(port) {
  return new Promise((resolve) => {
    execFile('ss', ['-Hltnp', `sport = :${port}`], { timeout: 2000 }, (err, stdout) => {
      if (err) return resolve('');
      const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(stdout);
      resolve(m ? `pid ${m[2]} (${m[1]})` : '');
    });
  });
}

/** Throws a LaunchError naming every port in `ports` ({label: port}) that something else already holds. */
export async function assertPortsFree(ports) {
  const taken = [];
  for (const [label, port] of Object.entries(ports)) {
    if (!(await isPortFree(port))) {
      const holder = await describePortHolder(port);
      taken.push(`  - ${label} port ${port} is taken${holder ? ` by ${holder}` : ''}`);
    }
  }
  if (taken.length) {
    throw new LaunchError(
      `cannot start: ports already in use:\n${taken.join('\n')}\n` +
        'Stop whatever holds them, or choose other ports (MLCYCLE_API_PORT, MLCYCLE_TEMPORAL_PORT, ' +
        'MLCYCLE_TEMPORAL_UI_PORT, MLCYCLE_S3_PORT, MLCYCLE_S3_CONSOLE_PORT).',
    );
  }
}

export function tcpOpen(port, host = '127.0.0.1', timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** HTTP status of a GET, or 0 when nothing answered in time. */
export async function httpStatus(url, timeoutMs = 2000) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Polls `probe` until it returns true, up to `timeoutMs`. `abort` is a promise that settles when waiting is
 * pointless (the process we wait for died); it wins the race with a LaunchError carrying its reason.
 */
export async function waitUntil(what, probe, { timeoutMs = 60_000, intervalMs = 250, abort } = {}) {
  const started = Date.now();
  let aborted;
  abort?.then((reason) => {
    aborted = reason ?? 'gave up';
  });
  for (;;) {
    if (aborted) throw new LaunchError(`${what}: ${aborted}`);
    if (await probe()) return Date.now() - started;
    if (aborted) throw new LaunchError(`${what}: ${aborted}`);
    if (Date.now() - started > timeoutMs) throw new LaunchError(`${what}: not ready after ${seconds(timeoutMs)}`);
    await delay(intervalMs);
  }
}
