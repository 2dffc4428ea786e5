/**
 * Serving benchmark: one model (gbdt on seattle-weather: 4 numeric features, 5 classes), one request shape (one
 * row per request, Open Inference Protocol JSON), and one bounded load generator on loopback, against
 *   - onnxruntime-node in-process (session.run with no HTTP at all: the ceiling),
 *   - a bare node:http server calling onnxruntime-node (bare-server.js: no framework, no validation),
 *   - mlcycle's API: POST /v2/models/{name}/infer with micro-batching on and off, and POST /v1/.../predict,
 *   - `mlflow models serve` on the same ONNX file (mlflow.onnx flavor, --env-manager local),
 * at each concurrency, side by side in one run. mlcycle runs as it ships (compiled dist/, API-key auth, prediction
 * log sampling 1, metrics, SQLite registry, real MinIO and Temporal).
 *
 * Load: loadgen.js, a process of its own with pre-serialized requests over raw keep-alive sockets (closed loop,
 * `concurrency` connections, loopback only, bounded by --requests and --seconds). Beside each figure the run
 * reports the CPU the server, the load generator and MinIO used (from /proc), so it shows where the cores went.
 *
 * Run: `node bench/serving/run.js [--seconds 10] [--rounds 3] [--requests 200000] [--concurrency 1,10,64]
 *   [--no-mlflow] [--mlflow-workers N] [--python PATH] [--only SUBSTRING,...] [--diagnose] [--variants FILE] [--no-build] [--out FILE]`
 * (needs the Temporal and MinIO binaries that `npm test` builds into ~/.cache/mlcycle/bin). MLflow runs from the
 * first Python that can import mlflow, onnx and onnxruntime among --python, $BENCH_PYTHON, bench/.venv/bin/python
 * and python3; set it up with `python3 -m venv bench/.venv && bench/.venv/bin/pip install mlflow onnx onnxruntime`.
 * --diagnose adds mlcycle variants with one shipped cost switched off by configuration (prediction log, thread
 * priority, thread count); --variants FILE adds more (see extraVariants); BENCH_PROF=DIR runs the bare server and
 * mlcycle with --cpu-prof into DIR (summarize with profile-summary.js); diagnose_variants.py builds the patched
 * variants that bench/serving/RESULTS.md's investigation used. --only always keeps the bare server (the × bare
 * column). Writes bench/serving/RESULTS.md unless --out says otherwise.
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from '../../libs/artifacts';
import { autoApiProcesses, loadConfig } from '../../libs/config';
import { createOnnxSession, float32Tensor } from '../../libs/ml/onnx';
import { parseModelSpec, specHash } from '../../libs/ml/spec';
import { openRegistry, RegistryService } from '../../libs/registry';
import { FEATURES, trainModel } from './bench-model';
import { freePort } from '../../test/support/net';
import { startMinio, startTemporalDevServer } from '../../test/support/servers';

const ROOT = path.resolve(__dirname, '../..');
const WORK = path.join(ROOT, 'bench/.work/serving');
const MODEL = 'seattle-weather-bench';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const REQUESTS = Number(arg('requests', '200000'));
const SECONDS = Number(arg('seconds', '10'));
const ROUNDS = Number(arg('rounds', '3'));
const WARMUP_SECONDS = Math.min(2, SECONDS);
const CONCURRENCY = arg('concurrency', '1,10,64').split(',').map(Number);
const ONLY = flag('only') ? arg('only', '').split(',').filter(Boolean) : [];
/** uvicorn worker counts to run MLflow with: its default (1) and one per core; the checks use the better of them */
const MLFLOW_WORKERS = [...new Set(arg('mlflow-workers', `1,${os.availableParallelism()}`).split(',').map(Number))];
const OUT = arg('out', path.join(__dirname, 'RESULTS.md'));
const COMMAND = `node bench/serving/run.js${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`;

const IN_PROCESS = 'onnxruntime-node in-process (no HTTP)';
const BARE = 'bare node:http + onnxruntime-node';
const MLFLOW = 'mlflow models serve';
const mlflowName = (workers: number) => `${MLFLOW} -w ${workers}`;
const V2_ON = 'mlcycle /v2 infer, batching on';
const V2_OFF = 'mlcycle /v2 infer, batching off';
/** as V2_ON, served by a group of API processes, one per core (MLCYCLE_API_PROCESSES), as mlcycle runs by default */
const V2_GROUP = `mlcycle /v2 infer, ${autoApiProcesses()} API processes`;

if (!(REQUESTS >= 1 && SECONDS > 0 && SECONDS <= 600 && ROUNDS >= 1 && CONCURRENCY.every((c) => Number.isInteger(c) && c >= 1 && c <= 1024))) {
  throw new Error('bounded runs only: --requests ≥ 1, 0 < --seconds ≤ 600, --rounds ≥ 1, 1 ≤ concurrency ≤ 1024');
}

interface Measurement {
  target: string;
  concurrency: number;
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  throughput: number;
  p50: number;
  p99: number;
  /** CPU used during the cell, in cores (CPU seconds per wall second) */
  cpu: { server: number; loadgen: number; minio: number; idle: number; machine: number };
  /** mlcycle's own view from its /metrics (--diagnose): mean handler time, mean session.run per batch, requests per batch */
  inside?: { handlerMs: number; runMs: number; perBatch: number; onLoop: number };
  latencies?: Float64Array;
}

function percentile(sorted: Float64Array, q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---- CPU accounting from /proc (Linux): which process used the cores during a cell ----

const CLK_TCK = 100; // USER_HZ; 100 on every Linux this runs on

/** utime + stime in ms and parent of every process, from /proc/<pid>/stat. */
function procSnapshot(): Map<number, { ppid: number; ms: number }> {
  const stats = new Map<number, { ppid: number; ms: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // the command may contain spaces and parentheses: fields start after the last ')'
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(f[1]), ms: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK });
    } catch {
      // exited meanwhile
    }
  }
  return stats;
}

/** CPU ms of processes and all their descendants (uvicorn's workers are children of its parent). */
function treeCpuMs(snapshot: Map<number, { ppid: number; ms: number }>, roots: number[]): number {
  let total = 0;
  const queue = roots.filter((p) => p > 0);
  const seen = new Set<number>();
  while (queue.length) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += snapshot.get(pid)?.ms ?? 0;
    for (const [child, st] of snapshot) if (st.ppid === pid) queue.push(child);
  }
  return total;
}

/** Busy CPU ms of the whole machine (all cores), from /proc/stat. */
function machineBusyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1000) / CLK_TCK;
}

/** The benchmark's own processes, for CPU accounting. */
interface Fleet {
  minio: number;
  temporal: number;
  servers: Server[];
}

interface CpuProbe {
  stop(seconds: number, loadgenMs?: number): Measurement['cpu'];
}

/**
 * CPU during a cell: the server measured ('self' for the in-process peer), the load generator (it reports its own),
 * MinIO, the rest of the benchmark's processes (idle servers, Temporal, this process), and the machine as a whole.
 */
function cpuProbe(serverPid: number | 'self', fleet: Fleet): CpuProbe {
  const groups = () => {
    const snap = procSnapshot();
    const idle = fleet.servers.map((s) => s.proc.pid ?? 0).filter((p) => p !== serverPid);
    return {
      server: serverPid === 'self' ? 0 : treeCpuMs(snap, [serverPid]),
      minio: treeCpuMs(snap, [fleet.minio]),
      // this process's own share only: its children are the servers and the load generator, counted apart
      idle: treeCpuMs(snap, [...idle, fleet.temporal]) + (serverPid === 'self' ? 0 : (snap.get(process.pid)?.ms ?? 0)),
    };
  };
  const self0 = process.cpuUsage();
  const g0 = groups();
  const machine0 = machineBusyMs();
  return {
    stop(seconds, loadgenMs = 0) {
      const self = process.cpuUsage(self0);
      const g1 = groups();
      const per = (ms: number) => ms / 1000 / seconds;
      return {
        server: serverPid === 'self' ? per((self.user + self.system) / 1000) : per(g1.server - g0.server),
        loadgen: per(loadgenMs),
        minio: per(g1.minio - g0.minio),
        idle: per(g1.idle - g0.idle),
        machine: per(machineBusyMs() - machine0),
      };
    },
  };
}

/** Busy cores not accounted for by the benchmark's processes: other work on the shared machine. */
const otherCores = (c: Measurement['cpu']) => Math.max(0, c.machine - c.server - c.loadgen - c.minio - c.idle);

// ---- load generation ----

interface LoadJob {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  bodies: Buffer[];
  concurrency: number;
  maxRequests: number;
  maxSeconds: number;
}

interface LoadResult {
  latencies: Float64Array;
  errors: number;
  firstError?: string;
  seconds: number;
  cpuMs: number;
}

/** The load generator process (loadgen.js), one job at a time over IPC. */
class LoadGenerator {
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(path.join(__dirname, 'loadgen.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the load generator exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (msg: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
        this.child.off('exit', onExit);
        if (msg.ok) resolve(msg.result);
        else reject(new Error(msg.error));
      });
      this.child.send(job);
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}

function summarize(target: string, concurrency: number, latencies: Float64Array, errors: number, seconds: number, cpu: Measurement['cpu'], firstError?: string): Measurement {
  const sorted = Float64Array.from(latencies).sort();
  return { target, concurrency, requests: latencies.length, errors, firstError, seconds, throughput: latencies.length / seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), cpu, latencies };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (alive && !alive()) throw new Error(`${what}: the process exited`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface Server {
  name: string;
  proc: ChildProcess;
  log: string;
}

function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Server {
  const log = path.join(WORK, `${name}.log`);
  const out = fs.openSync(log, 'w');
  const proc = spawn(command, args, { env, stdio: ['ignore', out, out], detached: false });
  fs.closeSync(out);
  return { name, proc, log };
}

async function stopProcess(s: Server): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function oipBody(row: Record<string, number>, i: number): Buffer {
  return Buffer.from(JSON.stringify({ id: String(i), inputs: FEATURES.map((f) => ({ name: f, shape: [1, 1], datatype: 'FP32', data: [row[f]] })) }));
}

function recordsBody(row: Record<string, number>): Buffer {
  return Buffer.from(JSON.stringify({ records: [row] }));
}

/** MLflow's tensor input; whole numbers are written as `0.0`, or Python's JSON parser makes them int64 tensors. */
function mlflowBody(row: Record<string, number>): Buffer {
  const value = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : JSON.stringify(v));
  return Buffer.from(`{"inputs": {${FEATURES.map((f) => `"${f}": [[${value(row[f])}]]`).join(', ')}}}`);
}

interface Target {
  name: string;
  /** one measurement at a concurrency, bounded by `seconds` and REQUESTS */
  measure(concurrency: number, seconds: number): Promise<Measurement>;
}

/** session.run in this process, `concurrency` callers at once: what onnxruntime-node alone costs per row. */
function inProcessTarget(bytes: Uint8Array, rows: Record<string, number>[], fleet: Fleet): Target {
  return {
    name: IN_PROCESS,
    async measure(concurrency, maxSeconds) {
      const session = await createOnnxSession(bytes);
      const latencies = new Float64Array(REQUESTS);
      let done = 0;
      let sent = 0;
      const probe = cpuProbe('self', fleet);
      const started = performance.now();
      const deadline = started + maxSeconds * 1000;
      const loop = async () => {
        while (sent < REQUESTS && performance.now() < deadline) {
          const row = rows[sent++ % rows.length];
          const t0 = performance.now();
          const feeds = Object.fromEntries(FEATURES.map((f) => [f, float32Tensor(Float32Array.of(row[f]), [1, 1])]));
          await session.run(feeds);
          latencies[done++] = performance.now() - t0;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, loop));
      const seconds = (performance.now() - started) / 1000;
      const cpu = probe.stop(seconds);
      await session.release();
      return summarize(IN_PROCESS, concurrency, latencies.subarray(0, done), 0, seconds, cpu);
    },
  };
}

/** Sums of the Prometheus series named (all label sets together) in a text exposition. */
function metricSums(text: string, names: string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    if (m && m[1] in out && !(line.includes('kind="shadow"'))) out[m[1]] += Number(m[2]);
    if (m && m[1] === ON_LOOP && line.includes('executor="event_loop"')) out[`${ON_LOOP}:event_loop`] = (out[`${ON_LOOP}:event_loop`] ?? 0) + Number(m[2]);
  }
  return out;
}

const ON_LOOP = 'mlcycle_inference_batches_total';
const INSIDE = [
  ON_LOOP,
  'mlcycle_inference_request_duration_seconds_sum',
  'mlcycle_inference_request_duration_seconds_count',
  'mlcycle_inference_session_run_seconds_sum',
  'mlcycle_inference_session_run_seconds_count',
  'mlcycle_inference_batch_requests_sum',
];

function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      })
      .on('error', reject);
  });
}

function httpTarget(
  name: string,
  loadgen: LoadGenerator,
  server: Server,
  fleet: Fleet,
  url: string,
  bodies: Buffer[],
  headers: Record<string, string>,
  metricsUrl?: string,
): Target {
  const u = new URL(url);
  return {
    name,
    async measure(concurrency, maxSeconds) {
      if (server.proc.exitCode !== null) throw new Error(`${name} has exited; see ${server.log}`);
      const before = metricsUrl ? metricSums(await scrape(metricsUrl), INSIDE) : undefined;
      const probe = cpuProbe(server.proc.pid!, fleet);
      const r = await loadgen.run({ host: u.hostname, port: Number(u.port), path: u.pathname, headers, bodies, concurrency, maxRequests: REQUESTS, maxSeconds });
      const cpu = probe.stop(r.seconds, r.cpuMs);
      const m = summarize(name, concurrency, r.latencies, r.errors, r.seconds, cpu, r.firstError);
      if (metricsUrl && before) {
        const after = metricSums(await scrape(metricsUrl), INSIDE);
        const d = (k: string) => after[k] - before[k];
        const batches = d('mlcycle_inference_session_run_seconds_count');
        m.inside = {
          handlerMs: (1000 * d('mlcycle_inference_request_duration_seconds_sum')) / d('mlcycle_inference_request_duration_seconds_count'),
          runMs: (1000 * d('mlcycle_inference_session_run_seconds_sum')) / batches,
          perBatch: d('mlcycle_inference_batch_requests_sum') / batches,
          onLoop: ((after[`${ON_LOOP}:event_loop`] ?? 0) - (before[`${ON_LOOP}:event_loop`] ?? 0)) / d(ON_LOOP),
        };
      }
      return m;
    },
  };
}

/** Median by throughput of several rounds; latency quantiles over all rounds' requests together; CPU averaged. */
function combine(rounds: Measurement[]): Measurement {
  const sorted = [...rounds].sort((a, b) => a.throughput - b.throughput);
  const median = sorted[Math.floor(sorted.length / 2)];
  const all = new Float64Array(rounds.reduce((s, r) => s + (r.latencies?.length ?? 0), 0));
  let at = 0;
  for (const r of rounds) {
    all.set(r.latencies ?? [], at);
    at += r.latencies?.length ?? 0;
  }
  all.sort();
  const mean = (k: keyof Measurement['cpu']) => rounds.reduce((s, r) => s + r.cpu[k], 0) / rounds.length;
  return {
    ...median,
    latencies: undefined,
    requests: rounds.reduce((s, r) => s + r.requests, 0),
    errors: rounds.reduce((s, r) => s + r.errors, 0),
    firstError: rounds.find((r) => r.firstError)?.firstError,
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
    cpu: { server: mean('server'), loadgen: mean('loadgen'), minio: mean('minio'), idle: mean('idle'), machine: mean('machine') },
    inside: rounds.every((r) => r.inside)
      ? {
          handlerMs: rounds.reduce((s, r) => s + r.inside!.handlerMs, 0) / rounds.length,
          runMs: rounds.reduce((s, r) => s + r.inside!.runMs, 0) / rounds.length,
          perBatch: rounds.reduce((s, r) => s + r.inside!.perBatch, 0) / rounds.length,
          onLoop: rounds.reduce((s, r) => s + r.inside!.onLoop, 0) / rounds.length,
        }
      : undefined,
  };
}

/** The first interpreter that can run the MLflow side, and what it reports about the peers' versions. */
function findPython(): { python: string; versions: string } | { error: string } {
  const candidates = [arg('python', ''), process.env.BENCH_PYTHON ?? '', path.join(ROOT, 'bench/.venv/bin/python'), 'python3'].filter(Boolean);
  const probe =
    'import platform, mlflow, onnx, onnxruntime, uvicorn; ' +
    'print(f"MLflow {mlflow.__version__} (uvicorn {uvicorn.__version__}, onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}, Python {platform.python_version()})")';
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', probe], { encoding: 'utf8' });
    if (r.status === 0) return { python, versions: r.stdout.trim() };
  }
  return { error: `none of ${candidates.join(', ')} can import mlflow, onnx, onnxruntime and uvicorn` };
}

interface Variant {
  name: string;
  env: Record<string, string>;
  path: string;
  bodies: Buffer[];
  /** the API's entry script; default the shipped dist/api/main.js */
  entry?: string;
}

/**
 * Extra mlcycle variants for investigations (--variants FILE): a JSON array of `{name, env?, entry?, endpoint?}`,
 * `entry` a script relative to the repository root (e.g. a patched copy of dist/ under bench/.work), `endpoint`
 * 'v2' (default) or 'v1'.
 */
function extraVariants(file: string, v2: string, v1: string, bodies: { v2: Buffer[]; v1: Buffer[] }): Variant[] {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; env?: Record<string, string>; entry?: string; endpoint?: 'v1' | 'v2' }[];
  return spec.map((x) => ({
    name: x.name,
    env: x.env ?? {},
    entry: x.entry ? path.resolve(ROOT, x.entry) : undefined,
    path: x.endpoint === 'v1' ? v1 : v2,
    bodies: x.endpoint === 'v1' ? bodies.v1 : bodies.v2,
  }));
}

async function main(): Promise<void> {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  if (!flag('no-build')) {
    process.stdout.write('compiling (tsc -p tsconfig.build.json) …\n');
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
    if (tsc.status !== 0) throw new Error('tsc failed');
  }
  process.stdout.write('training the model (gbdt, seattle-weather) …\n');
  const { bytes, rows } = await trainModel();
  const modelFile = path.join(WORK, 'model.onnx');
  fs.writeFileSync(modelFile, bytes);
  const sample = rows.slice(0, 256);

  const servers: Server[] = [];
  const loadgen = new LoadGenerator();
  const stopAll = async () => {
    for (const s of servers.splice(0)) await stopProcess(s);
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

  const temporal = await startTemporalDevServer();
  const minio = await startMinio();
  const fleet: Fleet = { minio: minio.pid, temporal: temporal.pid, servers };
  const targets: Target[] = [];
  const notes: string[] = [];
  const wanted = (name: string) => !ONLY.length || ONLY.some((o) => name.includes(o)) || name === BARE;
  try {
    // mlcycle's registry with the model as champion, set up before anything else runs in this process.
    const adminKey = `mlc_bench_${randomBytes(18).toString('base64url')}`;
    const baseEnv = {
      ...process.env,
      MLCYCLE_DATA_DIR: path.join(WORK, 'mlcycle'),
      MLCYCLE_DB_TYPE: 'sqlite',
      MLCYCLE_DB_PATH: path.join(WORK, 'mlcycle', 'registry.sqlite'),
      MLCYCLE_S3_ENDPOINT: minio.endpoint,
      MLCYCLE_S3_ACCESS_KEY: minio.accessKey,
      MLCYCLE_S3_SECRET_KEY: minio.secretKey,
      MLCYCLE_S3_BUCKET: 'bench-serving',
      MLCYCLE_TEMPORAL_ADDRESS: temporal.address,
      MLCYCLE_ADMIN_KEY: adminKey,
      MLCYCLE_LOG_LEVEL: 'warn',
      // one API process unless a row says otherwise: the default (one per core, up to 4) is the V2_GROUP row
      MLCYCLE_API_PROCESSES: '1',
    };
    await registerBenchModel(baseEnv, bytes);

    if (wanted(IN_PROCESS)) targets.push(inProcessTarget(bytes, sample, fleet));

    const barePort = await freePort();
    const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
    const bare = startProcess('bare', process.execPath, [...prof, path.join(__dirname, 'bare-server.js'), modelFile, String(barePort)], process.env);
    servers.push(bare);
    await waitFor('bare server', async () => (await get(`http://127.0.0.1:${barePort}/`)) > 0, 60_000, () => bare.proc.exitCode === null);
    targets.push(httpTarget(BARE, loadgen, bare, fleet, `http://127.0.0.1:${barePort}/`, sample.map(oipBody), { 'content-type': 'application/json' }));

    const auth = { authorization: `Bearer ${adminKey}` };
    const v2 = `/v2/models/${MODEL}/infer`;
    const v1 = `/v1/models/${MODEL}/predict`;
    const variants: Variant[] = [
      { name: V2_ON, env: { MLCYCLE_INFERENCE_BATCHING: 'true' }, path: v2, bodies: sample.map(oipBody) },
      { name: V2_OFF, env: { MLCYCLE_INFERENCE_BATCHING: 'false' }, path: v2, bodies: sample.map(oipBody) },
      { name: V2_GROUP, env: { MLCYCLE_INFERENCE_BATCHING: 'true', MLCYCLE_API_PROCESSES: 'auto' }, path: v2, bodies: sample.map(oipBody) },
      { name: 'mlcycle /v1 predict (records)', env: {}, path: v1, bodies: sample.map(recordsBody) },
      { name: 'mlcycle /v2 infer via Nest (fast path off)', env: { MLCYCLE_INFERENCE_FAST_PATH: 'false' }, path: v2, bodies: sample.map(oipBody) },
    ];
    if (flag('diagnose')) {
      // One shipped cost switched off at a time (configuration only), to show what each costs.
      variants.push(
        { name: 'diag: /v2 batching on, prediction log off', env: { MLCYCLE_PREDICTION_LOG_SAMPLE: '0' }, path: v2, bodies: sample.map(oipBody) },
        { name: 'diag: /v2 batching on, 1 inference thread', env: { MLCYCLE_INFERENCE_THREADS: '1' }, path: v2, bodies: sample.map(oipBody) },
        { name: 'diag: /v2 batching on, threads not niced', env: { MLCYCLE_INFERENCE_THREAD_NICE: '0' }, path: v2, bodies: sample.map(oipBody) },
      );
    }
    if (flag('variants')) variants.push(...extraVariants(arg('variants', ''), v2, v1, { v2: sample.map(oipBody), v1: sample.map(recordsBody) }));
    for (const v of variants.filter((x) => wanted(x.name))) {
      const port = await freePort();
      const server = startProcess(`mlcycle-${port}`, process.execPath, [...prof, v.entry ?? path.join(ROOT, 'dist/api/main.js')], { ...baseEnv, MLCYCLE_API_PORT: String(port), ...v.env });
      servers.push(server);
      await waitFor(`mlcycle API serving ${MODEL} (${v.name}; log ${server.log})`, async () => (await get(`http://127.0.0.1:${port}/v2/models/${MODEL}/ready`, auth)) === 200, 120_000, () => server.proc.exitCode === null);
      const metricsUrl = flag('diagnose') ? `http://127.0.0.1:${port}/metrics` : undefined;
      targets.push(httpTarget(v.name, loadgen, server, fleet, `http://127.0.0.1:${port}${v.path}`, v.bodies, { 'content-type': 'application/json', ...auth }, metricsUrl));
    }

    if (!flag('no-mlflow') && wanted(MLFLOW)) {
      const py = findPython();
      if ('error' in py) {
        notes.push(`MLflow was skipped: ${py.error} (see the header of bench/serving/benchmark.ts).`);
      } else {
        notes.push(
          `Peer: ${py.versions}: \`mlflow models serve --env-manager local -w N\` on the same ONNX file saved with \`mlflow.onnx.save_model\`, ` +
            `otherwise MLflow's defaults (uvicorn access log on). -w 1 is MLflow's default; -w ${os.availableParallelism()} gives it every core, but uvicorn ` +
            'with more than one worker leaves Nagle on for accepted connections (github.com/Kludex/uvicorn/issues/3149), which adds a ' +
            'delayed-ACK wait (~40 ms) to most keep-alive answers; both are shown, and the checks compare with the better MLflow figure.',
        );
        for (const workers of MLFLOW_WORKERS) {
          const port = await freePort();
          const server = startProcess(`mlflow-w${workers}`, py.python, [path.join(__dirname, 'mlflow_serve.py'), modelFile, path.join(WORK, `mlflow-w${workers}`), String(port), String(workers)], process.env);
          servers.push(server);
          await waitFor(`mlflow server (log ${server.log})`, async () => (await get(`http://127.0.0.1:${port}/ping`)) === 200, 300_000, () => server.proc.exitCode === null);
          targets.push(httpTarget(mlflowName(workers), loadgen, server, fleet, `http://127.0.0.1:${port}/invocations`, sample.map(mlflowBody), { 'content-type': 'application/json' }));
        }
      }
    }

    // Warm-up: JIT, connections, onnxruntime's first runs, MLflow's lazy imports.
    process.stdout.write(`warming up ${targets.length} targets …\n`);
    for (const t of targets) {
      const m = await t.measure(8, WARMUP_SECONDS);
      if (m.errors) throw new Error(`${t.name} fails during warm-up: ${m.firstError}`);
    }
    // Rounds, interleaved: on a shared machine, background load then touches every target alike.
    const load = { before: os.loadavg(), after: [0, 0, 0] };
    const started = new Date();
    const raw = new Map<string, Measurement[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of CONCURRENCY) {
        for (const t of targets) {
          const m = await t.measure(c, SECONDS);
          const other = otherCores(m.cpu);
          process.stdout.write(
            `  round ${round} ${t.name} @${c}: ${m.throughput.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, ${m.errors} errors; ` +
              `cores: server ${m.cpu.server.toFixed(2)}, loadgen ${m.cpu.loadgen.toFixed(2)}, minio ${m.cpu.minio.toFixed(2)}, idle peers ${m.cpu.idle.toFixed(2)}, other ${other.toFixed(2)}` +
              `${m.inside ? `; inside: handler ${m.inside.handlerMs.toFixed(3)} ms, session.run ${m.inside.runMs.toFixed(3)} ms × ${m.inside.perBatch.toFixed(1)} req/batch, ${(100 * m.inside.onLoop).toFixed(0)}% of batches on the event loop` : ''}` +
              `${m.firstError ? `; first error: ${m.firstError}` : ''}\n`,
          );
          const key = `${t.name}\u0001${c}`;
          raw.set(key, [...(raw.get(key) ?? []), m]);
        }
      }
    }
    load.after = os.loadavg();
    writeResults(
      [...raw.values()].map(combine),
      targets.map((t) => t.name),
      notes,
      { load, started, finished: new Date() },
      raw,
    );
  } finally {
    loadgen.stop();
    await stopAll();
    await minio.stop();
    await temporal.stop();
  }
}

async function registerBenchModel(env: NodeJS.ProcessEnv, bytes: Uint8Array): Promise<void> {
  const config = loadConfig(env);
  const dataSource = await openRegistry(config.db);
  const registry = new RegistryService(dataSource);
  const store = new ArtifactStore(config.s3);
  await store.ensureBucket();
  const spec = parseModelSpec({
    name: MODEL,
    task: 'multiclass_classification',
    target: 'weather',
    features: { include: [...FEATURES] },
    trainer: { name: 'gbdt' },
    evaluation: { primaryMetric: 'accuracy' },
  });
  const model = await registry.createModel({ name: MODEL, owner: 'bench', spec, specHash: specHash(spec) });
  const runId = '00000000-0000-4000-8000-000000000001';
  await registry.createRun({ id: runId, modelId: model.id, source: 'bench', specHash: specHash(spec), workflowId: 'bench', requestedBy: 'bench', steps: [] });
  const artifact = await store.putBytesContentAddressed(bytes, 'models', '.onnx', 'application/octet-stream');
  await registry.registerVersion(
    {
      modelId: model.id,
      runId,
      metrics: {},
      lineage: {
        datasetId: 'bench',
        datasetSha256: 'bench',
        datasetSource: 'vega-datasets seattle-weather.csv',
        splitSeed: 1,
        splitMembershipHash: 'bench',
        specHash: specHash(spec),
        trainer: 'gbdt',
        params: {},
        codeVersion: { package: 'mlcycle@0.1.0' },
        workflowId: 'bench',
        workflowRunId: 'bench',
        runId,
      },
      artifacts: [{ kind: 'model', ...artifact }],
      promote: true,
    },
    'bench',
  );
  await dataSource.destroy();
}

function writeResults(
  results: Measurement[],
  order: string[],
  notes: string[],
  run: { load: { before: number[]; after: number[] }; started: Date; finished: Date },
  /** every round's measurement, by `${target}\u0001${concurrency}` */
  rounds: Map<string, Measurement[]>,
): void {
  const at = (t: string, c: number) => results.find((r) => r.target === t && r.concurrency === c);
  const roundsOf = (t: string, c: number) => rounds.get(`${t}\u0001${c}`) ?? [];
  // Cells of one round run back to back, so a ratio within a round compares them under the same background load.
  const pairedRatio = (t: string, peer: string, c: number) => {
    const a = roundsOf(t, c);
    const b = roundsOf(peer, c);
    const per = a.map((m, i) => (b[i] ? m.throughput / b[i].throughput : NaN)).filter(Number.isFinite).sort((x, y) => x - y);
    return per.length ? per[Math.floor(per.length / 2)] : NaN;
  };
  const cpu = os.cpus();
  const ratio = (a: Measurement | undefined, b: Measurement | undefined) => (a && b ? a.throughput / b.throughput : NaN);
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
  const ortVersion = (JSON.parse(fs.readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  const lines: string[] = [
    '# Serving benchmark',
    '',
    `Command (repository root): \`${COMMAND}\``,
    '',
    `Machine: ${cpu.length} vCPU (${cpu[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}, ` +
      `onnxruntime-node ${ortVersion}; shared with other work. Run ${run.started.toISOString().slice(0, 16)}Z–${run.finished.toISOString().slice(11, 16)}Z; ` +
      `load average (1, 5, 15 min) ${la(run.load.before)} before the measured rounds, ${la(run.load.after)} after.`,
    '',
    'Model: gbdt (100 rounds × 5 classes) on seattle-weather, 4 FP32 inputs, outputs label and probabilities; one row per request, ' +
      'OIP JSON (bare server: the same bytes; MLflow: its `inputs` tensor JSON; /v1: `{"records": [...]}`).',
    '',
    `Load: bench/serving/loadgen.js, a separate Node process: closed loop, \`concurrency\` keep-alive loopback connections, each sending ` +
      'its next pre-serialized request when the previous answer is complete (no pipelining); latency is from writing the request to ' +
      `the last byte of the answer. ${REQUESTS} requests or ${SECONDS} s per cell, whichever ends first, after a ${WARMUP_SECONDS} s warm-up at ` +
      `concurrency 8. ${ROUNDS} interleaved rounds: req/s is the median round, p50/p99 are over all rounds' requests. ` +
      'The cores columns are CPU seconds per second during the cell from /proc: the server (with its threads and child processes), ' +
      'the load generator, MinIO (the prediction log), the idle peers (the other servers, Temporal and the benchmark process), and ' +
      '"other": the rest of the machine, i.e. other work on the shared host.',
    '',
    'Peers: onnxruntime-node in-process (session.run awaited in the benchmark process, no HTTP); bench/serving/bare-server.js ' +
      '(node:http, JSON.parse, one session.run per request on the event loop, JSON out, keep-alive; same session options as ' +
      "mlcycle's inference threads: 1 intra-op thread, all graph optimizations). mlcycle runs as it ships: compiled dist/api/main.js, " +
      `API-key auth, prediction log of every request to MinIO, Prometheus metrics, traffic windows, SQLite registry; one API process with ${cpu.length} ` +
      `inference threads, except the "${V2_GROUP}" row: one process per core (at most 4) sharing the cores' inference threads, mlcycle's default (MLCYCLE_API_PROCESSES=auto).`,
    ...notes.map((n) => `\n${n}`),
    '',
    '| target | concurrency | req/s | p50 ms | p99 ms | errors | × bare | cores: server | loadgen | MinIO | idle peers | other |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const t of order) {
    for (const c of CONCURRENCY) {
      const m = at(t, c);
      if (!m) continue;
      const other = otherCores(m.cpu);
      lines.push(
        `| ${t} | ${c} | ${m.throughput.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${m.errors} | ${t === BARE ? '—' : fmt(ratio(m, at(BARE, c)))} | ` +
          `${m.cpu.server.toFixed(2)} | ${t === IN_PROCESS ? '—' : m.cpu.loadgen.toFixed(2)} | ${m.cpu.minio.toFixed(2)} | ${m.cpu.idle.toFixed(2)} | ${other.toFixed(2)} |`,
      );
    }
  }
  const inside = order.flatMap((t) => CONCURRENCY.map((c) => at(t, c))).filter((m): m is Measurement => !!m?.inside);
  if (inside.length) {
    lines.push(
      '',
      "mlcycle's own view, from its /metrics around each cell (--diagnose; in a cluster variant, one process's): mean time from the " +
        'request reaching the handler to its answer being ready, mean session.run per batch, requests per batch, and the share of batches run on the event loop (the rest ran on inference threads).',
      '',
      '| target | concurrency | client p50 ms | handler mean ms | session.run mean ms | requests per batch | batches on the event loop |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const m of inside) {
      // NaN: the series was not there (a patched variant without metrics, or the cluster process scraped got no traffic)
      const x = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
      lines.push(`| ${m.target} | ${m.concurrency} | ${m.p50.toFixed(3)} | ${x(m.inside!.handlerMs, 3)} | ${x(m.inside!.runMs, 3)} | ${x(m.inside!.perBatch, 1)} | ${x(100 * m.inside!.onLoop, 0)}% |`);
    }
  }
  const errors = results.filter((r) => r.firstError);
  for (const r of errors) lines.push('', `First error of ${r.target} @${r.concurrency}: ${r.firstError}`);

  const verdict = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? ' met' : ' **missed**');
  const check = (value: number, min: number) => (Number.isFinite(value) ? verdict(value >= min) : '');
  lines.push('', '| target check | ' + CONCURRENCY.map((c) => `@${c}`).join(' | ') + ' |', '|---|' + CONCURRENCY.map(() => '---').join('|') + '|');
  const checked = [
    { target: V2_ON, label: '/v2 infer (batching on)' },
    { target: V2_GROUP, label: `/v2 infer (${os.availableParallelism()} API processes)` },
  ].filter((t) => order.includes(t.target));
  for (const t of checked) {
    lines.push(
      `| ${t.label} ÷ bare, req/s (target ≥ 0.9; ≥ 1.5 at 64) | ${CONCURRENCY.map((c) => {
        const r = ratio(at(t.target, c), at(BARE, c));
        return `${fmt(r)}${check(r, c === 64 ? 1.5 : 0.9)}`;
      }).join(' | ')} |`,
      `| ${t.label} ÷ bare, median of per-round ratios | ${CONCURRENCY.map((c) => {
        const r = pairedRatio(t.target, BARE, c);
        return `${fmt(r)}${check(r, c === 64 ? 1.5 : 0.9)}`;
      }).join(' | ')} |`,
    );
  }
  lines.push(`| /v2 infer, batching on ÷ off, req/s | ${CONCURRENCY.map((c) => fmt(ratio(at(V2_ON, c), at(V2_OFF, c)))).join(' | ')} |`);
  const mlflowTargets = order.filter((t) => t.startsWith(MLFLOW));
  if (mlflowTargets.length) {
    const best = (c: number, by: (m: Measurement) => number) =>
      mlflowTargets.map((t) => at(t, c)).filter((m): m is Measurement => !!m).sort((a, b) => by(a) - by(b))[0] as Measurement | undefined;
    for (const t of checked) {
      lines.push(
        `| ${t.label} ÷ best MLflow, req/s (target ≥ 10) | ${CONCURRENCY.map((c) => {
          const m = best(c, (x) => -x.throughput);
          const r = ratio(at(t.target, c), m);
          return `${fmt(r)}${check(r, 10)}${m ? ` (vs ${m.target.slice(MLFLOW.length + 1)})` : ''}`;
        }).join(' | ')} |`,
      );
      lines.push(
        `| p99 ms, ${t.label} vs best MLflow (target: lower) | ${CONCURRENCY.map((c) => {
          const a = at(t.target, c);
          const b = best(c, (x) => x.p99);
          return a && b ? `${a.p99.toFixed(2)} vs ${b.p99.toFixed(2)} (${b.target.slice(MLFLOW.length + 1)})${verdict(a.p99 < b.p99)}` : '—';
        }).join(' | ')} |`,
      );
    }
  }
  if (ROUNDS > 1) {
    lines.push(
      '',
      'req/s of each round (a round measures every target at every concurrency, interleaved, so background load shifts between rounds rather than between targets):',
      '',
      `| target | ${CONCURRENCY.map((c) => `@${c}`).join(' | ')} |`,
      `|---|${CONCURRENCY.map(() => '---').join('|')}|`,
    );
    for (const t of order.filter((x) => x !== IN_PROCESS)) {
      lines.push(`| ${t} | ${CONCURRENCY.map((c) => roundsOf(t, c).map((m) => m.throughput.toFixed(0)).join(' / ') || '—').join(' | ')} |`);
    }
  }
  fs.writeFileSync(OUT, lines.join('\n') + '\n');
  process.stdout.write(`\n${lines.join('\n')}\n\nwritten to ${path.relative(process.cwd(), OUT)}; analysis goes under it by hand\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
