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
 * Run: `node bench/serving/run.js [--requests 20000] [--seconds 15] [--concurrency 1,10,64] [--no-mlflow]`
 * (needs the Temporal and MinIO binaries that `npm test` builds, and for MLflow `pip install mlflow onnxruntime`).
 * Writes bench/serving/RESULTS.md unless --out says otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from '../../libs/artifacts';
import { loadConfig } from '../../libs/config';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { inferTable, readDatasetFile } from '../../libs/ml/data';
import { createOnnxSession, float32Tensor } from '../../libs/ml/onnx';
import { parseModelSpec, specHash } from '../../libs/ml/spec';
import { getTrainer } from '../../libs/ml/trainers/registry';
import { openRegistry, RegistryService } from '../../libs/registry';
import { freePort } from '../../test/support/net';
import { startMinio, startTemporalDevServer } from '../../test/support/servers';

const ROOT = path.resolve(__dirname, '../..');
const WORK = path.join(ROOT, 'bench/.work/serving');
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'] as const;
const MODEL = 'seattle-weather-bench';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const REQUESTS = Number(arg('requests', '20000'));
const SECONDS = Number(arg('seconds', '10'));
const ROUNDS = Number(arg('rounds', '3'));
const MLFLOW_REQUESTS = 3000;
const BARE = 'bare node:http + onnxruntime-node';
const MLFLOW = 'mlflow models serve';
const CONCURRENCY = arg('concurrency', '1,10,64').split(',').map(Number);
const OUT = arg('out', path.join(__dirname, 'RESULTS.md'));

interface Measurement {
  target: string;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  throughput: number;
  p50: number;
  p99: number;
  /** every request's latency, for quantiles over rounds */
  latencies?: number[];
}

function percentile(sorted: Float64Array, q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summarize(target: string, concurrency: number, latencies: number[], errors: number, seconds: number): Measurement {
  const sorted = Float64Array.from(latencies).sort();
  return { target, concurrency, requests: latencies.length, errors, seconds, throughput: latencies.length / seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), latencies };
}

/**
 * The load generator: `concurrency` loops over keep-alive connections, each sending the next body as soon as its
 * previous answer is complete, until `maxRequests` were sent or `maxSeconds` passed. Latency is per request,
 * send to last byte. Non-2xx answers count as errors (and are not in the latencies).
 */
async function drive(url: string, bodies: Buffer[], headers: Record<string, string>, concurrency: number, maxRequests: number, maxSeconds: number, target: string): Promise<Measurement> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const u = new URL(url);
  const one = (body: Buffer): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const loop = async () => {
    while (sent < maxRequests && performance.now() < deadline) {
      const body = bodies[sent++ % bodies.length];
      const t0 = performance.now();
      let status = 0;
      try {
        status = await one(body);
      } catch {
        status = 0;
      }
      if (status >= 200 && status < 300) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return summarize(target, concurrency, latencies, errors, seconds);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
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
  return { name, proc, log };
}

async function stopProcess(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function trainModel(): Promise<{ bytes: Uint8Array; rows: Record<string, number>[] }> {
  const raw = await readDatasetFile(bundledDatasetPath('seattle-weather.csv'), 'csv');
  const table = inferTable(raw);
  const all = Uint32Array.from({ length: table.rowCount }, (_, i) => i);
  const model = await getTrainer('gbdt').train({
    table,
    features: FEATURES.map((name) => ({ name, kind: 'numeric' as const })),
    target: 'weather',
    task: 'multiclass_classification',
    trainRows: all,
    validRows: new Uint32Array(0),
    params: {},
    seed: 1,
  });
  const rows = Array.from({ length: table.rowCount }, (_, i) => Object.fromEntries(FEATURES.map((f) => [f, table.numeric[f][i]])));
  return { bytes: model.onnx, rows };
}

function oipBody(row: Record<string, number>, i: number): Buffer {
  return Buffer.from(JSON.stringify({ id: String(i), inputs: FEATURES.map((f) => ({ name: f, shape: [1, 1], datatype: 'FP32', data: [row[f]] })) }));
}

function recordsBody(row: Record<string, number>): Buffer {
  return Buffer.from(JSON.stringify({ records: [row] }));
}

function mlflowBody(row: Record<string, number>): Buffer {
  return Buffer.from(JSON.stringify({ inputs: Object.fromEntries(FEATURES.map((f) => [f, [[row[f]]]])) }));
}

/** session.run in this process, `concurrency` callers at once: what onnxruntime-node alone costs per row. */
async function inProcess(bytes: Uint8Array, rows: Record<string, number>[], concurrency: number): Promise<Measurement> {
  const session = await createOnnxSession(bytes);
  const latencies: number[] = [];
  let sent = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const loop = async () => {
    while (sent < REQUESTS && performance.now() < deadline) {
      const row = rows[sent++ % rows.length];
      const t0 = performance.now();
      const feeds = Object.fromEntries(FEATURES.map((f) => [f, float32Tensor(Float32Array.of(row[f]), [1, 1])]));
      await session.run(feeds);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return summarize('onnxruntime-node in-process (no HTTP)', concurrency, latencies, 0, seconds);
}

interface Target {
  name: string;
  /** one measurement at a concurrency */
  measure(concurrency: number): Promise<Measurement>;
}

function httpTarget(name: string, url: string, bodies: Buffer[], headers: Record<string, string>, requests = REQUESTS): Target {
  return { name, measure: (c) => drive(url, bodies, headers, c, requests, SECONDS, name) };
}

/** Median by throughput of several rounds; latency quantiles over all rounds' requests together. */
function combine(rounds: { m: Measurement; latencies: number[] }[]): Measurement {
  const sorted = [...rounds].sort((a, b) => a.m.throughput - b.m.throughput);
  const median = sorted[Math.floor(sorted.length / 2)].m;
  const all = Float64Array.from(rounds.flatMap((r) => r.latencies)).sort();
  return {
    ...median,
    latencies: undefined,
    requests: rounds.reduce((s, r) => s + r.m.requests, 0),
    errors: rounds.reduce((s, r) => s + r.m.errors, 0),
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
  };
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
  const stopAll = async () => {
    for (const s of servers.splice(0)) await stopProcess(s);
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

  const temporal = await startTemporalDevServer();
  const minio = await startMinio();
  const targets: Target[] = [];
  const notes: string[] = [];
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
    };
    await registerBenchModel(baseEnv, bytes);

    targets.push({ name: 'onnxruntime-node in-process (no HTTP)', measure: (c) => inProcess(bytes, sample, c) });

    const barePort = await freePort();
    servers.push(startProcess('bare', process.execPath, [path.join(__dirname, 'bare-server.js'), modelFile, String(barePort)], process.env));
    await waitFor('bare server', async () => (await get(`http://127.0.0.1:${barePort}/`)) > 0);
    targets.push(httpTarget(BARE, `http://127.0.0.1:${barePort}/`, sample.map(oipBody), { 'content-type': 'application/json' }));

    const auth = { authorization: `Bearer ${adminKey}` };
    const variants: { name: string; env: Record<string, string>; path: string; bodies: Buffer[] }[] = [
      { name: 'mlcycle /v2 infer, batching on', env: { MLCYCLE_INFERENCE_BATCHING: 'true' }, path: `/v2/models/${MODEL}/infer`, bodies: sample.map(oipBody) },
      { name: 'mlcycle /v2 infer, batching off', env: { MLCYCLE_INFERENCE_BATCHING: 'false' }, path: `/v2/models/${MODEL}/infer`, bodies: sample.map(oipBody) },
      { name: 'mlcycle /v1 predict (records)', env: {}, path: `/v1/models/${MODEL}/predict`, bodies: sample.map(recordsBody) },
      { name: 'mlcycle /v2 infer via Nest (fast path off)', env: { MLCYCLE_INFERENCE_FAST_PATH: 'false' }, path: `/v2/models/${MODEL}/infer`, bodies: sample.map(oipBody) },
    ];
    for (const v of variants) {
      const port = await freePort();
      const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
      servers.push(startProcess(`mlcycle-${port}`, process.execPath, [...prof, path.join(ROOT, 'dist/api/main.js')], { ...baseEnv, MLCYCLE_API_PORT: String(port), ...v.env }));
      await waitFor(`mlcycle API serving ${MODEL} (${v.name})`, async () => (await get(`http://127.0.0.1:${port}/v2/models/${MODEL}/ready`, auth)) === 200);
      targets.push(httpTarget(v.name, `http://127.0.0.1:${port}${v.path}`, v.bodies, { 'content-type': 'application/json', ...auth }));
    }

    if (!flag('no-mlflow')) {
      const probe = spawnSync('python3', ['-c', 'import mlflow, onnxruntime, onnx; print(mlflow.__version__)'], { encoding: 'utf8' });
      if (probe.status !== 0) {
        notes.push('MLflow was skipped: python3 cannot import mlflow, onnxruntime and onnx (`pip install mlflow onnxruntime`).');
      } else {
        const port = await freePort();
        servers.push(startProcess('mlflow', 'python3', [path.join(__dirname, 'mlflow_serve.py'), modelFile, path.join(WORK, 'mlflow'), String(port)], process.env));
        await waitFor('mlflow server', async () => (await get(`http://127.0.0.1:${port}/ping`)) === 200, 300_000);
        notes.push(`MLflow ${probe.stdout.trim()} (\`mlflow models serve --env-manager local\`, its default worker settings), at most ${Math.min(REQUESTS, MLFLOW_REQUESTS)} requests per cell.`);
        // MLflow answers a few hundred requests per second: cap the count so the run ends in reasonable time.
        targets.push(httpTarget(MLFLOW, `http://127.0.0.1:${port}/invocations`, sample.map(mlflowBody), { 'content-type': 'application/json' }, Math.min(REQUESTS, MLFLOW_REQUESTS)));
      }
    }

    // Warm-up: JIT, connections, onnxruntime's first runs.
    for (const t of targets) await t.measure(8);
    // Rounds, interleaved: on a shared machine, background load then touches every target alike.
    const raw = new Map<string, { m: Measurement; latencies: number[] }[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of CONCURRENCY) {
        for (const t of targets) {
          const m = await t.measure(c);
          process.stdout.write(`  round ${round} ${t.name} @${c}: ${m.throughput.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, ${m.errors} errors\n`);
          const key = `${t.name}\u0001${c}`;
          raw.set(key, [...(raw.get(key) ?? []), { m, latencies: m.latencies ?? [] }]);
        }
      }
    }
    writeResults([...raw.values()].map(combine), notes);
  } finally {
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

function writeResults(results: Measurement[], notes: string[]): void {
  const targets = [...new Set(results.map((r) => r.target))];
  const at = (t: string, c: number) => results.find((r) => r.target === t && r.concurrency === c);
  const cpu = os.cpus();
  const ratio = (a: Measurement | undefined, b: Measurement | undefined) => (a && b ? (a.throughput / b.throughput).toFixed(2) : '—');
  const lines: string[] = [
    '# Serving benchmark',
    '',
    `Command: \`node bench/serving/run.js --requests ${REQUESTS} --seconds ${SECONDS} --rounds ${ROUNDS} --concurrency ${CONCURRENCY.join(',')}\``,
    '',
    `Machine: ${cpu.length} vCPU (${cpu[0]?.model.trim()}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, shared with other work. ` +
      'Model: gbdt (100 rounds × 5 classes) on seattle-weather, 4 FP32 inputs; one row per request, OIP JSON (MLflow: its ' +
      '`inputs` tensor JSON; /v1: `{"records": [...]}`). Load: the benchmark process keeps `concurrency` requests in flight ' +
      `over keep-alive loopback connections, ${REQUESTS} requests or ${SECONDS} s per cell, whichever ends first. ` +
      `${ROUNDS} interleaved rounds: req/s is the median round, p50/p99 are over all rounds' requests. ` +
      'mlcycle runs as it ships (compiled, API-key auth, prediction log of every request to MinIO, metrics, traffic windows, ' +
      `SQLite registry), with ${cpu.length} inference threads.`,
    ...notes.map((n) => `${n}`),
    '',
    '| target | concurrency | req/s | p50 ms | p99 ms | errors | × bare |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const t of targets) {
    for (const c of CONCURRENCY) {
      const m = at(t, c);
      if (!m) continue;
      lines.push(`| ${t} | ${c} | ${m.throughput.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${m.errors} | ${t === BARE ? '—' : ratio(m, at(BARE, c))} |`);
    }
  }
  const v2on = 'mlcycle /v2 infer, batching on';
  lines.push('', '| target check | ' + CONCURRENCY.map((c) => `@${c}`).join(' | ') + ' |', '|---|' + CONCURRENCY.map(() => '---:').join('|') + '|');
  lines.push(`| /v2 infer (batching on) ÷ bare, req/s (target ≥ 0.9; ≥ 1.5 at 64) | ${CONCURRENCY.map((c) => ratio(at(v2on, c), at(BARE, c))).join(' | ')} |`);
  if (targets.includes(MLFLOW)) {
    lines.push(`| /v2 infer (batching on) ÷ MLflow, req/s (target ≥ 10) | ${CONCURRENCY.map((c) => ratio(at(v2on, c), at(MLFLOW, c))).join(' | ')} |`);
    lines.push(
      `| p99 ms, /v2 infer vs MLflow (target: lower) | ${CONCURRENCY.map((c) => `${at(v2on, c)?.p99.toFixed(1)} vs ${at(MLFLOW, c)?.p99.toFixed(1)}`).join(' | ')} |`,
    );
  }
  fs.writeFileSync(OUT, lines.join('\n') + '\n');
  process.stdout.write(`\n${lines.join('\n')}\n\nwritten to ${path.relative(ROOT, OUT)}; analysis goes under it by hand\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

