/**
 * Real Temporal and MinIO servers for tests, each on free ports with its own temporary data directory. Ready means
 * answering: Temporal lists our search attributes on the namespace, MinIO reports /minio/health/ready. A port
 * taken between choosing and binding it is retried with new ports.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { SEARCH_ATTRIBUTES } from '../../libs/contracts/ids';
import { minioBin, temporalBin } from './binaries';
import { freePort, httpStatus, tcpOpen, waitUntil } from './net';
import { ManagedProcess } from './process';

/** Test credentials; MinIO wants a user of at least 3 and a password of at least 8 characters. */
export const TEST_S3_ACCESS_KEY = 'mlcycle-test';
export const TEST_S3_SECRET_KEY = 'mlcycle-test-secret';

/** The Keyword search attributes the workflows set, registered on every test server. */
export const MLCYCLE_SEARCH_ATTRIBUTE_NAMES: readonly string[] = Object.values(SEARCH_ATTRIBUTES);

const START_ATTEMPTS = 3;

export interface TemporalDevServer {
  /** host:port of the frontend gRPC service */
  address: string;
  port: number;
  /** set when started with `ui: true` */
  uiPort?: number;
  namespace: string;
  dataDir: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  namespace?: string;
  /** serve the Web UI too (off by default: tests don't need it) */
  ui?: boolean;
  /** keep state in a SQLite file in the data dir instead of memory */
  persistent?: boolean;
  readyTimeoutMs?: number;
}

export interface MinioServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  host: string;
  port: number;
  /** set when started with `console: true` */
  consolePort?: number;
  accessKey: string;
  secretKey: string;
  region: string;
  dataDir: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface MinioOptions {
  accessKey?: string;
  secretKey?: string;
  /** serve the web console too (off by default) */
  console?: boolean;
  readyTimeoutMs?: number;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs }, (err, stdout) => {
      resolve({ code: err ? 1 : 0, stdout: String(stdout) });
    });
  });
}

function portClash(proc: ManagedProcess): boolean {
  return !proc.running && /address already in use|bind: /i.test(proc.logTail(50));
}

async function stopAndRemove(proc: ManagedProcess, dataDir: string): Promise<void> {
  await proc.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const { namespace = 'default', ui = false, persistent = false, readyTimeoutMs = 60_000 } = options;
  const bin = temporalBin();
  for (let attempt = 1; ; attempt++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-temporal-'));
    const logFile = path.join(dataDir, 'temporal.log');
    const port = await freePort();
    const uiPort = ui ? await freePort() : undefined;
    const address = `127.0.0.1:${port}`;
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
    args.push(...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']));
    if (persistent) args.push('--db-filename', path.join(dataDir, 'temporal.db'));
    for (const name of MLCYCLE_SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
    const proc = new ManagedProcess('temporal', bin, args, logFile, process.env, dataDir);
    try {
      await waitUntil(
        `Temporal dev server on ${address}`,
        async () => {
          if (!(await tcpOpen(port))) return false;
          const res = await run(bin, ['operator', 'search-attribute', 'list', '--address', address, '--namespace', namespace, '--command-timeout', '5s', '-o', 'json'], 10_000);
          return res.code === 0 && MLCYCLE_SEARCH_ATTRIBUTE_NAMES.every((n) => res.stdout.includes(`"${n}"`));
        },
        { timeoutMs: readyTimeoutMs, givenUp: () => proc.exitReason() },
      );
    } catch (err) {
      const clash = portClash(proc);
      await stopAndRemove(proc, dataDir);
      if (clash && attempt < START_ATTEMPTS) continue;
      throw err;
    }
    return { address, port, uiPort, namespace, dataDir, pid: proc.pid, logFile, stop: () => stopAndRemove(proc, dataDir) };
  }
}

export async function startMinio(options: MinioOptions = {}): Promise<MinioServer> {
  const { accessKey = TEST_S3_ACCESS_KEY, secretKey = TEST_S3_SECRET_KEY, console = false, readyTimeoutMs = 60_000 } = options;
  const bin = minioBin();
  for (let attempt = 1; ; attempt++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-minio-'));
    const logFile = path.join(dataDir, 'minio.log');
    const port = await freePort();
    const consolePort = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const env = {
      ...process.env,
      MINIO_ROOT_USER: accessKey,
      MINIO_ROOT_PASSWORD: secretKey,
      MINIO_BROWSER: console ? 'on' : 'off',
      MINIO_UPDATE: 'off',
    };
    const args = ['server', path.join(dataDir, 'data'), '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'];
    const proc = new ManagedProcess('minio', bin, args, logFile, env, dataDir);
    try {
      await waitUntil(`MinIO on ${endpoint}`, async () => (await httpStatus(`${endpoint}/minio/health/ready`)) === 200, {
        timeoutMs: readyTimeoutMs,
        givenUp: () => proc.exitReason(),
      });
    } catch (err) {
      const clash = portClash(proc);
      await stopAndRemove(proc, dataDir);
      if (clash && attempt < START_ATTEMPTS) continue;
      throw err;
    }
    return {
      endpoint,
      host: '127.0.0.1',
      port,
      consolePort: console ? consolePort : undefined,
      accessKey,
      secretKey,
      region: 'us-east-1',
      dataDir,
      pid: proc.pid,
      logFile,
      stop: () => stopAndRemove(proc, dataDir),
    };
  }
}
