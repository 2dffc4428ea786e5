#!/usr/bin/env node
// The one entry point for running mlcycle locally and for testing it: `npm start`, `npm test`, `npm run stack`.
// Plain Node with no npm dependencies, because it is what installs them.
//
//   node deploy/launch.mjs start   set up, start Temporal + MinIO + worker + API, run the example, stay up
//   node deploy/launch.mjs stack   the same without the example
//   node deploy/launch.mjs infra   only Temporal + MinIO (no npm install, no compile), stay up
//   node deploy/launch.mjs setup   only the set-up: npm install, binaries, compile
//   node deploy/launch.mjs binaries   only the temporal and minio binaries
//   node deploy/launch.mjs postgres   a PostgreSQL server for working by hand, until Ctrl-C
//   node deploy/launch.mjs test [jest args…]   set-up, PostgreSQL for the tests, then jest --runInBand
//
// Set-up, each step skipped when already done: (a) npm install when node_modules is missing or older than
// the lockfile, (b) the temporal and minio binaries (built from pinned Go modules into ~/.cache/mlcycle/bin),
// (c) tsc -p tsconfig.build.json into dist/.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ensureBinary } from './lib/binaries.mjs';
import { LaunchError, fail, loud, paint, printTimings, say, step, warn } from './lib/log.mjs';
import { assertPortsFree, httpStatus, tcpOpen, waitUntil } from './lib/net.mjs';
import { ensureChromium } from './lib/chromium.mjs';
import { ensurePostgres } from './lib/postgres.mjs';
import { ensurePythonTestPackages } from './lib/python.mjs';
import { describeExit, Supervisor } from './lib/procs.mjs';
import { REPO_ROOT, SEARCH_ATTRIBUTES, appEnv, ensureAdminKey, stackSettings } from './lib/settings.mjs';

const USAGE = `usage: node deploy/launch.mjs <start|stack|infra|setup|binaries|postgres|test> [jest args…]
  start  set up, start Temporal, MinIO, the worker and the API, run the example, and stay up until Ctrl-C
  stack  the same, without the example
  infra  start only Temporal and MinIO and stay up until Ctrl-C
  setup  npm install, build the temporal and minio binaries, compile TypeScript; nothing is started
  binaries  only build (or find) the temporal and minio binaries
  postgres  start the PostgreSQL server the tests would use, print its URL, and stay up until Ctrl-C
  test   set up, provide PostgreSQL, then run jest --runInBand with the remaining arguments`;

// ---------------------------------------------------------------------------------------------------------------
// set-up

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Runs a command with inherited output; resolves with its exit code (a signal counts as 128+n). */
function runInherited(command, args, { env = process.env, cwd = REPO_ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : 15)));
  });
}

function npmEnv() {
  const env = { ...process.env };
  // Prebuilt native addons (better-sqlite3) cannot be downloaded here; with the local headers node-gyp builds
  // them from source instead of fetching headers too.
  if (!env.npm_config_nodedir && !env.NPM_CONFIG_NODEDIR && fs.existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
  return env;
}

async function ensureNodeModules() {
  const lockfile = path.join(REPO_ROOT, 'package-lock.json');
  const modules = path.join(REPO_ROOT, 'node_modules');
  const marker = path.join(modules, '.mlcycle-installed');
  const hasLock = fs.existsSync(lockfile);
  const wanted = hasLock ? mtime(lockfile) : mtime(path.join(REPO_ROOT, 'package.json'));
  const installed = Math.max(mtime(marker), mtime(path.join(modules, '.package-lock.json')), mtime(modules));
  if (fs.existsSync(modules) && installed >= wanted) {
    say(`  node_modules is up to date with ${hasLock ? 'package-lock.json' : 'package.json'}`);
    return;
  }
  // `npm install` rather than `npm ci`: it installs exactly what the lockfile pins all the same, and it tolerates a
  // registry mirror that lacks other platforms' optional packages (e.g. @swc/core-darwin-*), which makes npm ci
  // refuse a lockfile that npm itself wrote on this machine.
  say(`  ${fs.existsSync(modules) ? 'node_modules is older than' : 'no node_modules for'} ${hasLock ? 'package-lock.json' : 'package.json'}: npm install`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const code = await runInherited(npm, ['install', '--no-audit', '--no-fund'], { env: npmEnv() });
  if (code !== 0) throw new LaunchError(`npm install failed (exit ${code})`);
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
}

async function ensureBinaries() {
  // allSettled: a failure of one must not end the process while the other is still half-way through.
  const [temporal, minio] = await Promise.allSettled([ensureBinary('temporal'), ensureBinary('minio')]);
  for (const r of [temporal, minio]) if (r.status === 'rejected') throw r.reason;
  return { temporal: temporal.value, minio: minio.value };
}

async function compile() {
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) throw new LaunchError('typescript is not installed (node_modules/typescript is missing)');
  const args = [tsc, '-p', 'tsconfig.build.json'];
  if (process.stdout.isTTY) args.push('--pretty');
  const code = await runInherited(process.execPath, args);
  if (code !== 0) throw new LaunchError(`TypeScript compilation failed (tsc exit ${code}); the errors are above`);
}

async function setup({ withCompile = true } = {}) {
  await step('dependencies (npm)', ensureNodeModules);
  const bins = await step('binaries (temporal, minio)', ensureBinaries);
  if (withCompile && ['1', 'true', 'yes'].includes(String(process.env.MLCYCLE_SKIP_BUILD ?? '').toLowerCase())) {
    warn('MLCYCLE_SKIP_BUILD is set: not compiling TypeScript (dist/ may be stale)');
  } else if (withCompile) {
    await step('compile TypeScript (tsc -p tsconfig.build.json → dist/)', compile);
  }
  return bins;
}

// ---------------------------------------------------------------------------------------------------------------
// the stack

function temporalCli(bin, args) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', () => resolve({ code: 1, out }));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
  });
}

async function startInfra(sup, settings, bins) {
  const { dataDir, ports, urls } = settings;
  fs.mkdirSync(path.join(dataDir, 'minio'), { recursive: true });
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true });
  const address = `127.0.0.1:${ports.temporal}`;

  const temporal = sup.start({
    name: 'temporal',
    colour: 'magenta',
    command: bins.temporal,
    args: [
      'server', 'start-dev',
      '--db-filename', path.join(dataDir, 'temporal.db'),
      '--ip', '127.0.0.1',
      '--port', String(ports.temporal),
      '--ui-port', String(ports.temporalUi),
      '--namespace', 'default',
      ...SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
      '--log-level', 'warn',
    ],
    env: process.env,
    cwd: dataDir,
    logFile: path.join(dataDir, 'logs', 'temporal.log'),
  });
  const minio = sup.start({
    name: 'minio',
    colour: 'blue',
    command: bins.minio,
    args: ['server', path.join(dataDir, 'minio'), '--address', `127.0.0.1:${ports.s3}`, '--console-address', `127.0.0.1:${ports.s3Console}`],
    env: { ...process.env, MINIO_ROOT_USER: settings.s3AccessKey, MINIO_ROOT_PASSWORD: settings.s3SecretKey, MINIO_UPDATE: 'off' },
    cwd: dataDir,
    logFile: path.join(dataDir, 'logs', 'minio.log'),
  });

  await Promise.all([
    step(`Temporal ready on ${address}`, () =>
      waitUntil(
        'Temporal',
        async () =>
          (await tcpOpen(ports.temporal)) &&
          (await temporalCli(bins.temporal, ['operator', 'namespace', 'describe', '--namespace', 'default', '--address', address, '--command-timeout', '5s'])).code === 0,
        { timeoutMs: 90_000, abort: temporal.died },
      ),
    ),
    step(`MinIO ready on ${urls.s3}`, () =>
      waitUntil('MinIO', async () => (await httpStatus(`${urls.s3}/minio/health/ready`)) === 200, { timeoutMs: 60_000, abort: minio.died }),
    ),
  ]);
}

async function startApp(sup, settings) {
  const env = appEnv(settings);
  const missing = ['worker/main.js', 'api/main.js'].filter((f) => !fs.existsSync(path.join(REPO_ROOT, 'dist', f)));
  if (missing.length) throw new LaunchError(`dist/${missing.join(' and dist/')} not found: the TypeScript build did not produce them`);
  const worker = sup.start({
    name: 'worker',
    colour: 'yellow',
    command: process.execPath,
    args: ['--enable-source-maps', 'dist/worker/main.js'],
    env,
    cwd: REPO_ROOT,
    logFile: path.join(settings.dataDir, 'logs', 'worker.log'),
  });
  const api = sup.start({
    name: 'api',
    colour: 'green',
    command: process.execPath,
    args: ['--enable-source-maps', 'dist/api/main.js'],
    env,
    cwd: REPO_ROOT,
    logFile: path.join(settings.dataDir, 'logs', 'api.log'),
  });
  await step(`API ready on ${settings.urls.api}`, () =>
    waitUntil('API', async () => (await httpStatus(`${settings.urls.api}/health/ready`)) === 200, {
      timeoutMs: 120_000,
      abort: Promise.race([worker.died, api.died]),
    }),
  );
}

async function runExample(sup, settings) {
  const example = path.join(REPO_ROOT, 'dist', 'deploy', 'example.js');
  if (!fs.existsSync(example)) {
    warn('no dist/deploy/example.js yet (deploy/example.ts registers the bundled example model); skipping the example');
    return;
  }
  const child = sup.start({
    name: 'example',
    colour: 'cyan',
    command: process.execPath,
    args: ['--enable-source-maps', example],
    env: appEnv(settings),
    cwd: REPO_ROOT,
    oneShot: true,
  });
  const info = await child.exited;
  if (info.code !== 0) warn(`the example ${describeExit(info)}; the stack stays up so you can look at what happened`);
}

function printLinks(settings, { app, adminKey }) {
  const { urls, dataDir } = settings;
  const line = (label, value) => say(`  ${label.padEnd(16)} ${paint('bold', value)}`);
  say('');
  say(paint('green', 'mlcycle is up.'));
  if (app) line('API docs', urls.docs);
  if (adminKey) {
    // A key the user set is theirs to know; only the generated one is printed.
    line('admin API key', adminKey.source === 'env' ? 'MLCYCLE_ADMIN_KEY (as you set it)' : `${adminKey.key}  (kept in ${adminKey.source})`);
  }
  line('Temporal UI', urls.temporalUi);
  const login = process.env.MLCYCLE_S3_SECRET_KEY
    ? `log in as ${settings.s3AccessKey} with MLCYCLE_S3_SECRET_KEY`
    : `log in as ${settings.s3AccessKey} / ${settings.s3SecretKey}`;
  line('MinIO console', `${urls.s3Console}  (${login})`);
  line('Temporal gRPC', `127.0.0.1:${settings.ports.temporal}`);
  line('S3 endpoint', urls.s3);
  line('data', `${dataDir}  (state survives restarts; delete it to start afresh)`);
  say('Ctrl-C stops everything.');
}

async function runStack({ app, example }) {
  const settings = stackSettings();
  const bins = app ? await setup() : await step('binaries (temporal, minio)', ensureBinaries);
  fs.mkdirSync(settings.dataDir, { recursive: true });
  const adminKey = app ? ensureAdminKey(settings) : undefined;
  const sup = new Supervisor(path.join(settings.dataDir, 'launcher.json'));
  await sup.reapLeftovers();
  const { api, ...infraPorts } = settings.ports;
  await assertPortsFree({
    Temporal: infraPorts.temporal,
    'Temporal UI': infraPorts.temporalUi,
    MinIO: infraPorts.s3,
    'MinIO console': infraPorts.s3Console,
    ...(app ? { API: api } : {}),
  });

  let exiting = null;
  const shutdown = (code, why) => {
    exiting ??= (async () => {
      if (why) say(why);
      await sup.stopAll();
      say(code === 0 ? 'stopped.' : 'stopped after a failure.');
      process.exit(code);
    })();
    return exiting;
  };
  sup.onUnexpectedExit = (child, info) => {
    fail(`${child.name} ${describeExit(info)} unexpectedly; its last lines:`);
    for (const l of child.lines.slice(-20)) process.stderr.write(`    ${l}\n`);
    void shutdown(1);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (exiting) {
        warn(`${signal} again: killing everything now`);
        sup.killAll();
        process.exit(130);
      }
      void shutdown(0, `${signal}: stopping (again to kill at once)`);
    });
  }

  try {
    await startInfra(sup, settings, bins);
    if (app) await startApp(sup, settings);
  } catch (err) {
    if (exiting) return exiting; // a child died and is already being reported
    fail(err instanceof LaunchError ? err.message : err.stack);
    for (const c of sup.children.filter((c) => !c.running)) {
      fail(`${c.name} ${describeExit(c.exitInfo)}; its last lines:`);
      for (const l of c.lines.slice(-20)) process.stderr.write(`    ${l}\n`);
    }
    return shutdown(1);
  }
  printLinks(settings, { app, adminKey });
  if (example) await runExample(sup, settings);
  return new Promise(() => {}); // until a signal or a child's death ends the process
}

// ---------------------------------------------------------------------------------------------------------------
// test

async function runTests(jestArgs) {
  const bins = await setup();
  const pg = await step('PostgreSQL for tests', ensurePostgres);
  // Lint is part of the test: the determinism bans on workflows/ are only worth something if they are enforced.
  await step('lint (eslint, including the workflow determinism rules)', async () => {
    const code = await runInherited(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.'], { env: process.env });
    if (code !== 0) throw new LaunchError('eslint found problems (listed above); fix them or the workflow determinism rules mean nothing');
  });
  const python = await step('Python packages for the external-trainer example', async () => ensurePythonTestPackages());
  say(`  ${python.how}`);
  const env = { ...process.env, MLCYCLE_TEMPORAL_BIN: bins.temporal, MLCYCLE_MINIO_BIN: bins.minio };
  if (pg.url) {
    say(`  PostgreSQL: ${pg.how}`);
    env.MLCYCLE_TEST_PG_URL = pg.url;
  } else {
    loud(`NO POSTGRESQL: the PostgreSQL suites will be SKIPPED.\nReason: ${pg.reason}\nSet MLCYCLE_TEST_PG_URL=postgres://user:pass@host:5432/db to use a server of your own.`);
    env.MLCYCLE_TEST_PG_SKIP_REASON = pg.reason;
  }
  const chromium = await step('Chromium for the browser tests', ensureChromium);
  if (chromium.path) {
    say(`  Chromium: ${chromium.how}`);
    env.MLCYCLE_CHROMIUM = chromium.path;
  } else {
    loud(`NO CHROMIUM: the browser tests (monitoring report page) will be SKIPPED.\nReason: ${chromium.reason}`);
    env.MLCYCLE_CHROMIUM_SKIP_REASON = chromium.reason;
  }
  printTimings();

  const args = [path.join(REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand'];
  // An open handle left by a test would keep jest alive until CI's time runs out; locally it is better to see it.
  const onCi = Boolean(process.env.CI) && !['0', 'false', 'no'].includes(process.env.CI.toLowerCase());
  if (onCi && !jestArgs.includes('--forceExit')) args.push('--forceExit');
  args.push(...jestArgs);
  say(`jest ${args.slice(1).join(' ')}`);
  // Signals go on to jest (a terminal's Ctrl-C reaches it directly as well); we wait for it to end, then clean up.
  let jestChild = null;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => jestChild?.kill(signal));
  const summaryFile = path.join(os.tmpdir(), `mlcycle-jest-summary-${process.pid}.json`);
  fs.rmSync(summaryFile, { force: true });
  env.MLCYCLE_TEST_SUMMARY_FILE = summaryFile;
  const code = await new Promise((resolve, reject) => {
    jestChild = spawn(process.execPath, args, { env, cwd: REPO_ROOT, stdio: 'inherit' });
    jestChild.once('error', reject);
    jestChild.once('exit', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? 130 : 143)));
  });
  // Quietly: jest's summary should stay the last thing printed.
  await pg.stop?.();
  // test/support/summary-reporter.js left the counts; one plain closing line that CI tooling can read.
  try {
    const s = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
    fs.rmSync(summaryFile, { force: true });
    process.stderr.write(`Tests: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped\n`);
  } catch {
    // jest ended before reporting (no tests matched, bad arguments, a crash): its own output says why
  }
  return code;
}

/** A PostgreSQL server for working by hand (the one `test` would use), up until Ctrl-C. */
async function runPostgres() {
  const pg = await step('PostgreSQL', ensurePostgres);
  if (!pg.url) throw new LaunchError(`no PostgreSQL: ${pg.reason}`);
  say(`MLCYCLE_TEST_PG_URL=${pg.url}  (${pg.how})`);
  say('Ctrl-C stops it.');
  const keepAlive = setInterval(() => undefined, 60_000); // signal listeners alone don't keep Node running
  await new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, resolve);
  });
  clearInterval(keepAlive);
  await pg.stop();
  say('stopped.');
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  switch (mode) {
    case 'start':
      return runStack({ app: true, example: true });
    case 'stack':
      return runStack({ app: true, example: false });
    case 'infra':
      return runStack({ app: false, example: false });
    case 'binaries':
      await step('binaries (temporal, minio)', ensureBinaries);
      return 0;
    case 'setup':
      await setup();
      printTimings();
      return 0;
    case 'postgres':
      return runPostgres();
    case 'test':
      return runTests(rest[0] === '--' ? rest.slice(1) : rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`${mode ? `unknown mode "${mode}"\n` : ''}${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code ?? 0),
  (err) => {
    if (err instanceof LaunchError) {
      fail(err.message);
      process.exit(err.exitCode);
    }
    fail(err?.stack ?? String(err));
    process.exit(1);
  },
);
