/**
 * A server process started by a test: its output goes to a log file (quoted when it fails to start), it is stopped
 * with SIGTERM then SIGKILL, and it never outlives the test process, however that ends. On Linux the last is the
 * kernel's job (setpriv --pdeathsig: killed when its parent dies, even by SIGKILL); exit and signal hooks cover the
 * rest where they can — only in jest's own process: inside a test file `process` is a sandbox copy whose listeners
 * never fire.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

const SETPRIV = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => fs.existsSync(f)) : undefined;

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killLive(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', killLive);
  // Kill our servers, then let the signal do what it would have done (once-listeners are gone when it comes back).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killLive();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;
  private stopping = false;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    readonly logFile: string,
    env: NodeJS.ProcessEnv = process.env,
    cwd?: string,
  ) {
    installHooks();
    const fd = fs.openSync(logFile, 'a');
    try {
      this.child = SETPRIV
        ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], { env, cwd, stdio: ['ignore', fd, fd] })
        : spawn(command, args, { env, cwd, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    // A forgotten server must not keep jest alive; the exit hook above still kills it.
    this.child.unref();
    this.pid = this.child.pid ?? -1;
    live.add(this.child);
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('error', (error) => {
        this.exitInfo = { code: null, signal: null, error };
        live.delete(this.child);
        resolve(this.exitInfo);
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo ??= { code, signal };
        live.delete(this.child);
        resolve(this.exitInfo);
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** Why the process is gone, if it ended without being asked to. */
  exitReason(): string | undefined {
    if (!this.exitInfo || this.stopping) return undefined;
    const { code, signal, error } = this.exitInfo;
    const how = error ? `could not be started (${error.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return `${this.name} ${how}; last lines of ${this.logFile}:\n${this.logTail(20)}`;
  }

  logTail(lines: number): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer); // a pending timer would keep jest alive after the run
    if (!stopped) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
