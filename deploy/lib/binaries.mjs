// The two servers the stack needs, built once from their Go modules into a shared cache
// (~/.cache/mlcycle/bin, or MLCYCLE_BIN_DIR) and reused by the launcher and the jest harness.
//
// Each binary has a stamp file next to it naming the pin it was built from, so changing a pin below rebuilds it.
// A build goes into a temporary directory and is renamed into place, so a half-written binary is never used. Only
// one build of a binary runs at a time: a lock directory guards our own builds, and a scan of /proc waits for any
// other `go install` of the same module (someone building by hand) before starting a second one.
// Without a Go toolchain the official release binaries are downloaded instead (untested on the machines we build
// on, which have Go and no route to GitHub).
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { LaunchError, say, warn, seconds } from './log.mjs';
import { binDir, logDir } from './settings.mjs';

const TEMPORAL_VERSION = '1.5.1';
const MINIO_RELEASE = 'RELEASE.2025-09-07T16-13-09Z';

export const PINS = {
  temporal: {
    module: 'github.com/temporalio/cli/cmd/temporal',
    modPath: 'github.com/temporalio/cli',
    version: `v${TEMPORAL_VERSION}`,
    envVar: 'MLCYCLE_TEMPORAL_BIN',
    urlVar: 'MLCYCLE_TEMPORAL_URL',
    shaVar: 'MLCYCLE_TEMPORAL_SHA256',
    download: ({ os, arch }) => ({
      url:
        `https://github.com/temporalio/cli/releases/download/v${TEMPORAL_VERSION}/` +
        `temporal_cli_${TEMPORAL_VERSION}_${os}_${arch}.tar.gz`,
      archive: 'tar.gz',
      sha256: {
        linux_amd64: 'ddc95e08b0b076efd4ea9733a3f488eb7d2be875f8834e616cd2a37358b4852d',
        linux_arm64: 'bd1b0db9f18b051026de8bf6cc1505f2510f14bbb7a8b9a4a91fff46c77454f5',
        darwin_amd64: 'bbb73e2a31135abe50a1f1cdb35030c42961df618e8ce9c60ae89f201540c5d9',
        darwin_arm64: 'cca01b7ea35ad56e2a328d9ae596bf716bd22313ef63c7a761c88354457c2415',
      }[`${os}_${arch}`],
    }),
  },
  minio: {
    // The module proxy serves MinIO only by pseudo-version (its RELEASE.* tags are not semver).
    module: 'github.com/minio/minio',
    modPath: 'github.com/minio/minio',
    version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
    envVar: 'MLCYCLE_MINIO_BIN',
    urlVar: 'MLCYCLE_MINIO_URL',
    shaVar: 'MLCYCLE_MINIO_SHA256',
    // MinIO publishes no binaries for newer community releases; the last archived one is close enough for a
    // local object store. The .sha256sum published next to it is checked when we have no checksum of our own.
    download: ({ os, arch }) => ({
      url: `https://dl.min.io/server/minio/release/${os}-${arch}/archive/minio.${MINIO_RELEASE}`,
      archive: 'none',
      sha256: { linux_amd64: '7c5bd8512c6e966455b1d198209358b2d191c77a83ab377c4073281065fb855f' }[`${os}_${arch}`],
    }),
  },
};

const PROGRESS_EVERY_MS = 15_000;

function platform() {
  const os = { linux: 'linux', darwin: 'darwin' }[process.platform];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  if (!os || !arch) throw new LaunchError(`no ${process.platform}/${process.arch} binaries are known; set MLCYCLE_TEMPORAL_BIN and MLCYCLE_MINIO_BIN`);
  return { os, arch };
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function forceDownload() {
  return ['1', 'true', 'yes'].includes(String(process.env.MLCYCLE_FORCE_DOWNLOAD ?? '').toLowerCase());
}

/** The Go toolchain: `go` on PATH, else the usual install locations (CI's PATH may lack /usr/local/go/bin). */
export function findGo(env = process.env) {
  if (env.MLCYCLE_GO) return isExecutable(env.MLCYCLE_GO) ? env.MLCYCLE_GO : null;
  const candidates = (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'go'));
  candidates.push('/usr/local/go/bin/go', '/usr/lib/go/bin/go', path.join(env.HOME ?? '/', 'go', 'bin', 'go'));
  return candidates.find(isExecutable) ?? null;
}

function goStamp(pin) {
  return `go ${pin.module}@${pin.version}`;
}

/** The release to download: the pinned one, or MLCYCLE_TEMPORAL_URL / MLCYCLE_MINIO_URL (a mirror). */
function downloadSpec(pin, env = process.env) {
  const spec = pin.download(platform());
  const override = env[pin.urlVar];
  return override ? { ...spec, url: override, sha256: env[pin.shaVar] || undefined } : spec;
}

function downloadStamp(pin) {
  return `download ${downloadSpec(pin).url}`;
}

function readStamp(file) {
  try {
    return fs.readFileSync(`${file}.version`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The module version a Go binary was built from (`go version -m`), or null. */
function builtVersion(go, file, modPath) {
  return new Promise((resolve) => {
    execFile(go, ['version', '-m', file], { timeout: 30_000 }, (err, stdout) => {
      if (err) return resolve(null);
      const line = stdout.split('\n').find((l) => l.trim().startsWith('mod\t') && l.includes(`\t${modPath}\t`));
      resolve(line ? line.trim().split('\t')[2] : null);
    });
  });
}

/** Is the binary at `file` the pinned one? Accepts an unstamped binary that `go version -m` vouches for. */
async function isCurrent(name, file, go) {
  if (!isExecutable(file)) return false;
  const pin = PINS[name];
  const stamp = readStamp(file);
  if (stamp === goStamp(pin) || stamp === downloadStamp(pin)) return true;
  if (stamp === null && go && (await builtVersion(go, file, pin.modPath)) === pin.version) {
    fs.writeFileSync(`${file}.version`, `${goStamp(pin)}\n`);
    return true;
  }
  return false;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Pids of other processes running `go install <module>@...` (Linux only; elsewhere, none are found). */
function otherBuilds(module) {
  let entries = [];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const found = [];
  for (const e of entries) {
    if (Number(e) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv.includes('install') && argv.some((a) => a.startsWith(`${module}@`))) found.push(Number(e));
    } catch {
      // the process went away while we looked
    }
  }
  return found;
}

function lastLine(logFile, pattern = /\S/) {
  try {
    const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => pattern.test(l));
    return lines.at(-1)?.trim() ?? '';
  } catch {
    return '';
  }
}

function tail(logFile, n) {
  try {
    return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Prints a progress line every 15 s until the returned function is called. */
function progress(name, describe) {
  const started = Date.now();
  const timer = setInterval(() => {
    const detail = describe();
    say(`  ${name}: ${seconds(Date.now() - started)} elapsed${detail ? ` — ${detail}` : ''}`);
  }, PROGRESS_EVERY_MS);
  return () => clearInterval(timer);
}

async function withLock(lockDir, name, fn) {
  for (let announced = false; ; ) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let pid = 0;
      let ageMs = 0;
      try {
        ageMs = Date.now() - fs.statSync(lockDir).mtimeMs;
        pid = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8') || 0);
      } catch {
        // no pid yet: its owner is between mkdir and writing it (or died there; the age tells)
      }
      if ((pid && pidAlive(pid)) || (!pid && ageMs < 10_000)) {
        if (!announced) say(`  ${name}: another launcher (pid ${pid || '?'}) is building it; waiting`);
        announced = true;
        await delay(1000);
      } else {
        fs.rmSync(lockDir, { recursive: true, force: true }); // left by a launcher that died
      }
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

async function waitForOtherBuilds(name, pin, logFile) {
  let pids = otherBuilds(pin.module);
  if (pids.length === 0) return;
  say(`  ${name}: a build is already running (pid ${pids.join(', ')}); waiting for it instead of starting a second`);
  const stop = progress(name, () => lastLine(logFile, /go: downloading|^\S+\/\S+$/));
  try {
    while (pids.length) {
      await delay(1000);
      pids = otherBuilds(pin.module);
    }
  } finally {
    stop();
  }
}

async function goInstall(name, pin, go, file, logFile) {
  const tmp = fs.mkdtempSync(path.join(path.dirname(file), `.build-${name}-`));
  const log = fs.openSync(logFile, 'w');
  say(`  ${name}: go install ${pin.module}@${pin.version} (log: ${logFile})`);
  say(`  ${name}: a first build downloads and compiles a few hundred modules and takes minutes`);
  const stop = progress(name, () => lastLine(logFile));
  try {
    const code = await new Promise((resolve, reject) => {
      const child = spawn(go, ['install', '-v', `${pin.module}@${pin.version}`], {
        env: { ...process.env, GOBIN: tmp, GOFLAGS: process.env.GOFLAGS ?? '-buildvcs=false' },
        stdio: ['ignore', log, log],
      });
      child.once('error', reject);
      child.once('exit', (c, signal) => resolve(c ?? signal));
    });
    fs.writeSync(log, `exit ${code}\n`);
    if (code !== 0) throw new LaunchError(`building ${name} failed (exit ${code}); last lines of ${logFile}:\n${tail(logFile, 25)}`);
    const built = path.join(tmp, path.basename(pin.module));
    fs.renameSync(built, file);
    fs.writeFileSync(`${file}.version`, `${goStamp(pin)}\n`);
  } finally {
    stop();
    fs.closeSync(log);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function download(name, pin, file) {
  const spec = downloadSpec(pin);
  const tmp = fs.mkdtempSync(path.join(path.dirname(file), `.download-${name}-`));
  say(`  ${name}: ${forceDownload() ? 'MLCYCLE_FORCE_DOWNLOAD is set' : 'no Go toolchain found'}; downloading ${spec.url}`);
  let received = 0;
  const stop = progress(name, () => `${(received / 1e6).toFixed(1)} MB received`);
  try {
    const res = await fetch(spec.url, { redirect: 'follow' });
    if (!res.ok || !res.body) throw new LaunchError(`downloading ${spec.url} failed: HTTP ${res.status}`);
    const payload = path.join(tmp, 'payload');
    const out = fs.createWriteStream(payload);
    const hash = createHash('sha256');
    for await (const chunk of res.body) {
      received += chunk.length;
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
    let expected = spec.sha256;
    if (!expected) {
      const sum = await fetch(`${spec.url}.sha256sum`).catch(() => null);
      if (sum?.ok) expected = (await sum.text()).trim().split(/\s+/)[0];
    }
    const actual = hash.digest('hex');
    if (expected && expected !== actual) throw new LaunchError(`${spec.url}: sha256 ${actual}, expected ${expected}`);
    if (!expected) warn(`  ${name}: no checksum known for ${spec.url}; using it unverified`);
    let binary = payload;
    if (spec.archive === 'tar.gz') {
      await new Promise((resolve, reject) =>
        execFile('tar', ['-xzf', payload, '-C', tmp, name], (err) => (err ? reject(new LaunchError(`unpacking ${spec.url}: ${err.message}`)) : resolve())),
      );
      binary = path.join(tmp, name);
    }
    fs.chmodSync(binary, 0o755);
    fs.renameSync(binary, file);
    fs.writeFileSync(`${file}.version`, `${downloadStamp(pin)}\n`);
  } finally {
    stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Returns the path of an up-to-date `name` binary ('temporal' or 'minio'), building or downloading it when
 * needed. MLCYCLE_TEMPORAL_BIN / MLCYCLE_MINIO_BIN point at a binary of your own and skip all of this.
 */
export async function ensureBinary(name, env = process.env) {
  const pin = PINS[name];
  const override = env[pin.envVar];
  if (override) {
    if (!isExecutable(override)) throw new LaunchError(`${pin.envVar}=${override} is not an executable file`);
    say(`  ${name}: using ${override} (${pin.envVar})`);
    return override;
  }
  const dir = binDir(env);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(logDir(env), { recursive: true });
  const file = path.join(dir, name);
  const logFile = path.join(logDir(env), `${name}-build.log`);
  const go = forceDownload() ? null : findGo(env);
  if (await isCurrent(name, file, go)) {
    say(`  ${name}: ${file} (${readStamp(file)})`);
    return file;
  }
  await withLock(path.join(dir, `.${name}.lock`), name, async () => {
    // Temporary directories of an interrupted build or download (we hold the lock, so none is in use).
    for (const e of fs.readdirSync(dir)) {
      if (e.startsWith(`.build-${name}-`) || e.startsWith(`.download-${name}-`)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    }
    if (go) await waitForOtherBuilds(name, pin, logFile);
    if (await isCurrent(name, file, go)) return; // someone else just finished it
    const started = Date.now();
    if (go) await goInstall(name, pin, go, file, logFile);
    else await download(name, pin, file);
    say(`  ${name}: ready at ${file} after ${seconds(Date.now() - started)}`);
  });
  if (!(await isCurrent(name, file, go))) throw new LaunchError(`${name}: ${file} is still not the pinned version after building it`);
  return file;
}
