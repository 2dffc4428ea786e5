// A PostgreSQL server for the test run, found or made, in this order:
//   1. MLCYCLE_TEST_PG_URL, when set, is used as is;
//   2. a server on 127.0.0.1:5432 that lets postgres/postgres (or postgres with no password) in and create databases;
//   3. a throw-away cluster of this run's own, made with initdb (the PostgreSQL server package is installed with
//      apt-get first when we are root and it is missing), started on a free port, stopped and removed after the run.
// When none of that works the tests that need PostgreSQL skip, and the reason is printed loudly.
//
// Our cluster: initdb and postgres refuse to run as root, so as root they run as the `postgres` system user (made by
// the Debian package) in a directory that user owns (its home: /var/lib/postgresql/mlcycle-test/run-<pid>); as any
// other user they run as that user in ~/.cache/mlcycle/pg/run-<pid>. The cluster trusts loopback connections only
// and runs with fsync off: it holds nothing but test databases.
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { LaunchError, say, seconds } from './log.mjs';
import { freePort, isPortFree } from './net.mjs';
import { cacheDir, logDir } from './settings.mjs';

const PREFERRED_PORT = 55432;

function run(cmd, args, { timeoutMs = 120_000, env, cwd } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: env ?? process.env, cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const spawnError = err && typeof err.code !== 'number' ? `${cmd}: ${err.message}\n` : '';
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: spawnError + String(stderr), err });
    });
  });
}

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

/** The directory holding initdb, pg_ctl and postgres: Debian's versioned layout, else pg_config, else PATH. */
async function findServerBinDir() {
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')) && fs.existsSync(path.join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(root, versions[0], 'bin');
  }
  if (onPath('pg_config')) {
    const { code, stdout } = await run('pg_config', ['--bindir']);
    const dir = stdout.trim();
    if (code === 0 && fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  const initdb = onPath('initdb');
  return initdb ? path.dirname(initdb) : null;
}

async function aptInstall() {
  const log = path.join(logDir(), 'postgres-install.log');
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
  if ((await aptGet(['install', '-y', 'postgresql'])) === 0) return true;
  // The package lists may be missing or stale on a fresh machine.
  if ((await aptGet(['update'])) !== 0) return false;
  return (await aptGet(['install', '-y', 'postgresql'])) === 0;
}

async function canUse(url) {
  if (!onPath('psql')) return false;
  const { code, stdout } = await run(
    'psql',
    [url, '-XAtqw', '-c', 'select rolcreatedb or rolsuper from pg_roles where rolname = current_user'],
    { timeoutMs: 10_000, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } },
  );
  return code === 0 && stdout.trim() === 't';
}

function postgresUser() {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return null;
  const [, , uid, gid, , home] = line.split(':');
  return { name: 'postgres', uid: Number(uid), gid: Number(gid), home };
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * A throw-away cluster of our own for this run; returns {url, how, stop} or throws a LaunchError explaining why it
 * can't. Every run gets its own (initdb takes half a second): several `npm test` runs on one machine then never
 * stop a server another run is still using.
 */
async function ownCluster(binDir) {
  const isRoot = process.getuid?.() === 0;
  const user = isRoot ? postgresUser() : null;
  if (isRoot && !user) throw new LaunchError('running as root and there is no `postgres` user to run PostgreSQL as');
  const base = process.env.MLCYCLE_TEST_PG_DIR
    ? path.resolve(process.env.MLCYCLE_TEST_PG_DIR)
    : isRoot
      ? path.join(user.home, 'mlcycle-test')
      : path.join(cacheDir(), 'pg');
  // runuser lives in /usr/sbin, which a CI's PATH may not have.
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((f) => fs.existsSync(f));
  const asUser = (cmd, args) => {
    const exe = path.join(binDir, cmd);
    if (!isRoot) return run(exe, args, { cwd: base });
    if (runuser) return run(runuser, ['-u', user.name, '--', exe, ...args], { cwd: base });
    const quoted = [exe, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return run('su', ['-s', '/bin/sh', user.name, '-c', quoted], { cwd: base });
  };

  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  if (isRoot) fs.chownSync(base, user.uid, user.gid);

  // Clusters of runs that died without cleaning up (their launcher's pid is in the name).
  for (const entry of fs.readdirSync(base)) {
    const m = /^run-(\d+)$/.exec(entry);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    const dir = path.join(base, entry);
    if (fs.existsSync(path.join(dir, 'postmaster.pid'))) await asUser('pg_ctl', ['stop', '-D', dir, '-m', 'immediate', '-w', '-t', '30']);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const dataDir = path.join(base, `run-${process.pid}`);
  const serverLog = path.join(dataDir, 'server.log');
  fs.rmSync(dataDir, { recursive: true, force: true });
  const init = await asUser('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-instructions', '--no-sync']);
  if (init.code !== 0) throw new LaunchError(`initdb ${dataDir} failed:\n${init.stderr || init.stdout}`);

  let port;
  for (let attempt = 1; ; attempt++) {
    port = (await isPortFree(PREFERRED_PORT)) ? PREFERRED_PORT : await freePort();
    const options = `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    const start = await asUser('pg_ctl', ['start', '-D', dataDir, '-w', '-t', '60', '-l', serverLog, '-o', options]);
    if (start.code === 0) break;
    const logTail = fs.existsSync(serverLog) ? fs.readFileSync(serverLog, 'utf8').trimEnd().split('\n').slice(-15).join('\n') : '';
    // Another run may have taken the port between our check and the server's bind.
    if (attempt < 3 && /could not (bind|create)|already in use/i.test(logTail)) continue;
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw new LaunchError(`pg_ctl start failed:\n${start.stderr || start.stdout}\n${logTail}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const keep = ['1', 'true', 'yes'].includes(String(process.env.MLCYCLE_TEST_PG_KEEP ?? '').toLowerCase());
  const stop = async () => {
    if (keep) return;
    const res = await asUser('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']);
    if (res.code !== 0) process.stderr.write(`mlcycle: stopping the test PostgreSQL cluster in ${dataDir} failed: ${res.stderr}\n`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  };
  if (!(await canUse(url))) {
    await stop();
    throw new LaunchError(`the test cluster in ${dataDir} does not accept ${url}`);
  }
  say(`  started a cluster for this run on 127.0.0.1:${port} (${dataDir}${isRoot ? ', as user postgres' : ''})`);
  return { url, how: `a cluster of this run's own, ${keep ? 'left running (MLCYCLE_TEST_PG_KEEP)' : 'removed at the end'}`, stop };
}

/**
 * Returns {url, how, stop()} for a server the tests may create databases on, or {url: null, reason} when there is
 * none. stop() stops only a cluster this call started.
 */
export async function ensurePostgres() {
  const none = async () => undefined;
  if (process.env.MLCYCLE_TEST_PG_URL) return { url: process.env.MLCYCLE_TEST_PG_URL, how: 'MLCYCLE_TEST_PG_URL', stop: none };

  if (onPath('pg_isready') && (await run('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-t', '2'])).code === 0) {
    for (const url of ['postgres://postgres:postgres@127.0.0.1:5432/postgres', 'postgres://postgres@127.0.0.1:5432/postgres']) {
      if (await canUse(url)) return { url, how: 'the server on 127.0.0.1:5432', stop: none };
    }
    say('  a server answers on 127.0.0.1:5432 but does not let postgres/postgres in; making a cluster of our own');
  }

  let binDir = await findServerBinDir();
  if (!binDir) {
    if (process.getuid?.() !== 0) return { url: null, reason: 'the PostgreSQL server is not installed and installing it needs root' };
    if (!onPath('apt-get')) return { url: null, reason: 'the PostgreSQL server is not installed and there is no apt-get to install it' };
    if (!(await aptInstall())) return { url: null, reason: `apt-get install postgresql failed (see ${path.join(logDir(), 'postgres-install.log')})` };
    binDir = await findServerBinDir();
    if (!binDir) return { url: null, reason: 'apt-get installed postgresql but no initdb was found' };
  }
  try {
    return await ownCluster(binDir);
  } catch (err) {
    if (!(err instanceof LaunchError)) throw err;
    return { url: null, reason: err.message };
  }
}
