// A headless browser for the tests that render pages (the monitoring report): a Chromium from the system, found or
// installed, in this order:
//   1. MLCYCLE_CHROMIUM, when set, is used as is;
//   2. chromium / chromium-browser / google-chrome on PATH;
//   3. as root, Debian's `chromium` package installed with apt-get (apt-get update first when the lists are stale).
// puppeteer-core drives it and never downloads a browser of its own. When none of that works the browser tests skip
// and the reason is printed loudly.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { say, seconds } from './log.mjs';
import { logDir } from './settings.mjs';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function onPath(cmd) {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((d) => path.join(d, cmd))
    .find((f) => {
      try {
        fs.accessSync(f, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function works(bin) {
  return spawnSync(bin, ['--headless', '--no-sandbox', '--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

function find() {
  for (const name of NAMES) {
    const bin = onPath(name);
    if (bin && works(bin)) return bin;
  }
  return null;
}

async function aptInstall() {
  const log = path.join(logDir(), 'chromium-install.log');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const aptGet = async (args) => {
    say(`  apt-get ${args.join(' ')} (log: ${log})`);
    const started = Date.now();
    const timer = setInterval(() => say(`  apt-get ${args[0]}: ${seconds(Date.now() - started)} elapsed`), 15_000);
    const fd = fs.openSync(log, 'a');
    try {
      return await new Promise((resolve) => {
        const child = spawn('apt-get', args, { env, stdio: ['ignore', fd, fd] });
        child.once('error', () => resolve(1));
        child.once('exit', (code) => resolve(code ?? 1));
      });
    } finally {
      clearInterval(timer);
      fs.closeSync(fd);
    }
  };
  if ((await aptGet(['install', '-y', '--no-install-recommends', 'chromium'])) === 0) return true;
  if ((await aptGet(['update'])) !== 0) return false;
  return (await aptGet(['install', '-y', '--no-install-recommends', 'chromium'])) === 0;
}

/** { path, how } when a browser is ready, else { path: null, reason }. */
export async function ensureChromium() {
  const given = process.env.MLCYCLE_CHROMIUM;
  if (given) {
    return works(given) ? { path: given, how: `MLCYCLE_CHROMIUM=${given}` } : { path: null, reason: `MLCYCLE_CHROMIUM=${given} does not run` };
  }
  const found = find();
  if (found) return { path: found, how: `found ${found}` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !onPath('apt-get')) {
    return { path: null, reason: 'no chromium on PATH, and installing it needs apt-get as root (set MLCYCLE_CHROMIUM to a Chromium or Chrome binary)' };
  }
  if (!(await aptInstall())) return { path: null, reason: `apt-get could not install chromium (see ${path.join(logDir(), 'chromium-install.log')})` };
  const installed = find();
  return installed ? { path: installed, how: `installed ${installed} with apt-get` } : { path: null, reason: 'chromium was installed but does not run' };
}
