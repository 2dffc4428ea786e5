// Child processes of the local stack: started with prefixed, coloured output, watched, and stopped in reverse order.
//
// Each child runs in its own process group, so a terminal's Ctrl-C reaches only the launcher, which then stops the
// children in order (API before worker before the servers they use), and so stopping a child also stops anything
// it spawned. The pids are written to <data>/launcher.json, so a launcher killed with SIGKILL leaves enough behind
// for the next one to clean up after it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

import { LaunchError, colourEnabled, paint, say, warn } from './log.mjs';

const KEEP_LINES = 40;
const PREFIX_WIDTH = 8;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

export class Child {
  constructor({ name, colour, command, args, env, cwd, logFile, oneShot = false }) {
    Object.assign(this, { name, colour, command, args, oneShot });
    this.lines = [];
    this.exitInfo = null;
    this.stopping = false;
    // Children write to a pipe, so they can't tell whether colour is wanted; when ours is off, theirs is too.
    const childEnv = colourEnabled() || env.NO_COLOR !== undefined || env.FORCE_COLOR !== undefined ? env : { ...env, NO_COLOR: '1' };
    this.proc = spawn(command, args, { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.pid = this.proc.pid;
    const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
    const prefix = paint(colour, `${name.padEnd(PREFIX_WIDTH)} │`);
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > KEEP_LINES) this.lines.shift();
        log?.write(`${line}\n`);
        // Once asked to stop, a child's farewell (Temporal's lost-connection warnings) goes to its log file only.
        if (!this.stopping) process.stdout.write(`${prefix} ${line}\n`);
      });
    }
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (err) => {
        this.lines.push(`cannot start ${command}: ${err.message}`);
        this.exitInfo = { code: null, signal: null, error: err };
        resolve(this.exitInfo);
      });
      this.proc.once('close', (code, signal) => {
        this.exitInfo ??= { code, signal };
        log?.end();
        resolve(this.exitInfo);
      });
    });
    /** Settles with a reason when the child ends without being asked to: for aborting readiness waits. */
    this.died = this.exited.then((info) => (this.stopping ? new Promise(() => {}) : `${name} ${describeExit(info)}`));
  }

  get running() {
    return this.exitInfo === null;
  }

  async stop(timeoutMs = 15_000) {
    this.stopping = true;
    if (!this.running) return;
    killGroup(this.pid, 'SIGTERM');
    let timer;
    const done = await Promise.race([this.exited.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!done) {
      warn(`${this.name} did not stop within ${timeoutMs / 1000}s; killing it`);
      killGroup(this.pid, 'SIGKILL');
      await this.exited;
    }
  }

  kill() {
    this.stopping = true;
    if (this.running) killGroup(this.pid, 'SIGKILL');
  }
}

export function describeExit(info) {
  if (info.error) return `could not be started (${info.error.message})`;
  if (info.signal) return `was killed by ${info.signal}`;
  return `exited with code ${info.code}`;
}

export class Supervisor {
  /** @param stateFile where the pids go (<data>/launcher.json) */
  constructor(stateFile) {
    this.stateFile = stateFile;
    this.children = [];
    this.onUnexpectedExit = null;
    this.shuttingDown = false;
    // Last resort: never leave children behind, whatever way this process ends.
    process.once('exit', () => {
      for (const c of this.children) c.kill();
    });
  }

  /** Stops processes an earlier launcher with the same data dir left behind; refuses if that launcher is alive. */
  async reapLeftovers() {
    let state;
    try {
      state = JSON.parse(fs.readFileSync(this.stateFile, 'utf8'));
    } catch {
      return;
    }
    if (state.launcher && state.launcher !== process.pid && alive(state.launcher) && cmdline(state.launcher)?.some((a) => a.endsWith('launch.mjs'))) {
      throw new LaunchError(`another launcher (pid ${state.launcher}) is already running with data dir ${path.dirname(this.stateFile)}; stop it first (Ctrl-C in its terminal, or kill ${state.launcher})`);
    }
    for (const c of state.children ?? []) {
      const argv = cmdline(c.pid);
      if (!argv || argv[0] !== c.command) continue; // gone, or the pid was reused by something else
      say(`stopping ${c.name} (pid ${c.pid}) left running by an earlier launcher`);
      killGroup(c.pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(c.pid); i++) await delay(100);
      if (alive(c.pid)) killGroup(c.pid, 'SIGKILL');
    }
    fs.rmSync(this.stateFile, { force: true });
  }

  start(options) {
    const child = new Child(options);
    this.children.push(child);
    this.#save();
    void child.exited.then((info) => {
      this.#save();
      if (child.stopping || this.shuttingDown || child.oneShot) return;
      this.onUnexpectedExit?.(child, info);
    });
    return child;
  }

  /** Stops every child, last started first. */
  async stopAll() {
    this.shuttingDown = true;
    for (const child of [...this.children].reverse()) {
      if (!child.running) continue;
      say(`stopping ${child.name} …`);
      await child.stop();
    }
    fs.rmSync(this.stateFile, { force: true });
  }

  killAll() {
    this.shuttingDown = true;
    for (const child of this.children) child.kill();
  }

  #save() {
    const running = this.children.filter((c) => c.running && c.pid);
    const state = { launcher: process.pid, children: running.map((c) => ({ name: c.name, pid: c.pid, command: c.command })) };
    try {
      fs.writeFileSync(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    } catch {
      // the data dir is gone (someone deleted it under us): nothing to record
    }
  }
}
