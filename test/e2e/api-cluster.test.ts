/**
 * MLCYCLE_API_PROCESSES=2: api/main.ts as an operator runs it (a real process, from sources), a group of two API
 * processes on one port beside the suite's own in-process replica, on the same registry and bucket. Each process is
 * a serving replica of its own, traffic reaches both, /metrics answers for the group, a process that dies is
 * replaced without leaving a connection hanging, and SIGTERM stops them all cleanly. SQLite only: the group's
 * behaviour does not depend on the database.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { ServingReplica } from '../../libs/serving/replica';
import { appEnvForTests, freePort, waitUntil } from '../support';
import { ManagedProcess } from '../support/process';
import { uniqueName } from './api-app';
import { csvRecords, featureRecords, oipInputs, openServingSuite, trainVersion, versionModel, weatherSpec } from './serving-support';
import type { ServingSuite } from './serving-support';

const ROOT = path.resolve(__dirname, '../..');
const WEATHER_CSV = bundledDatasetPath('weather.csv');

/** `<host>-<pid>-<random>`: the default replica ID names the process that serves. */
function pidOf(replicaId: string): number {
  return Number(replicaId.split('-').at(-2));
}

function sampleValue(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('API process group (MLCYCLE_API_PROCESSES=2)', () => {
  let suite: ServingSuite;
  let group: ManagedProcess | undefined;
  let url: string;
  const name = uniqueName('group');

  beforeAll(async () => {
    suite = await openServingSuite('sqlite');
    await trainVersion(suite, weatherSpec(name, { name: 'logistic_regression', params: {} }), WEATHER_CSV);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-group-'));
    const config = suite.api.config;
    const env = {
      ...process.env,
      ...appEnvForTests({
        MLCYCLE_DATA_DIR: dataDir,
        MLCYCLE_DB_TYPE: 'sqlite',
        MLCYCLE_DB_PATH: config.db.type === 'sqlite' ? config.db.path : '',
        MLCYCLE_S3_BUCKET: config.s3.bucket,
        MLCYCLE_TASK_QUEUE_PREFIX: config.temporal.taskQueuePrefix,
        MLCYCLE_ADMIN_KEY: suite.api.adminKey,
        MLCYCLE_API_PORT: String(port),
        MLCYCLE_API_PROCESSES: '2',
        MLCYCLE_INFERENCE_THREADS: '1',
        MLCYCLE_SERVING_RECONCILE_MS: '200',
        MLCYCLE_LOG_LEVEL: 'info',
      }),
    };
    group = new ManagedProcess('api group', process.execPath, ['-r', path.join(ROOT, 'scripts/ts-register.js'), path.join(ROOT, 'api/main.ts')], path.join(dataDir, 'api.log'), env, ROOT);
    await waitUntil(
      'the API group to serve the model',
      async () => (await fetch(`${url}/v2/models/${name}/ready`, { headers: { authorization: `Bearer ${suite.key}` } }).catch(() => undefined))?.status === 200,
      { timeoutMs: 120_000, givenUp: () => group!.exitReason() },
    );
  });

  afterAll(async () => {
    await group?.stop(30_000);
    await suite?.close();
  });

  /**
   * Replica IDs of the group's live processes: reporting within the last 3 s (a killed process's last report stays
   * until it is pruned); the suite's own in-process replica is left out.
   */
  async function groupReplicas(): Promise<string[]> {
    const model = (await suite.api.registry.findModelByName(name))!;
    const rows = await suite.api.registry.listReplicaStatus(model.id);
    const own = suite.api.app.get(ServingReplica).replicaId;
    return rows.filter((r) => r.replicaId !== own && r.ready && Date.now() - new Date(r.reportedAt).getTime() < 3_000).map((r) => r.replicaId);
  }

  /** OIP request bodies for `count` requests, rows of the real data in turn. */
  async function inferBodies(count: number): Promise<string[]> {
    const { features } = await versionModel(suite, (await suite.api.registry.findModelByName(name))!.id, 1);
    const rows = featureRecords(csvRecords(WEATHER_CSV, 20), features);
    return Array.from({ length: count }, (_, i) => JSON.stringify({ inputs: oipInputs([rows[i % rows.length]], features) }));
  }

  /** A request that gets no answer within this long counts as hung (HUNG), not as failed. */
  const ANSWER_WITHIN_MS = 15_000;
  const HUNG = -1;

  async function infer(count: number): Promise<number[]> {
    const bodies = await inferBodies(count);
    const statuses: number[] = [];
    // Several connections at once: the kernel spreads connections over the group's processes.
    await Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        for (let i = lane; i < count; i += 8) {
          try {
            const res = await fetch(`${url}/v2/models/${name}/infer`, {
              method: 'POST',
              headers: { authorization: `Bearer ${suite.key}`, 'content-type': 'application/json' },
              body: bodies[i],
              signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
            });
            await res.arrayBuffer();
            statuses.push(res.status);
          } catch (err) {
            // a reset: the connection went down with its process
            statuses.push((err as Error).name === 'TimeoutError' ? HUNG : 0);
          }
        }
      }),
    );
    return statuses;
  }

  /** `count` requests at once, each on a connection of its own, opened now. */
  async function inferOnNewConnections(count: number): Promise<number[]> {
    const bodies = await inferBodies(count);
    const { port } = new URL(url);
    return Promise.all(
      bodies.map(
        (body) =>
          new Promise<number>((resolve) => {
            const req = http.request(
              { host: '127.0.0.1', port, path: `/v2/models/${name}/infer`, method: 'POST', agent: false, timeout: ANSWER_WITHIN_MS, headers: { authorization: `Bearer ${suite.key}`, 'content-type': 'application/json' } },
              (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
                res.on('error', () => resolve(0));
              },
            );
            req.on('timeout', () => {
              req.destroy();
              resolve(HUNG);
            });
            req.on('error', () => resolve(0));
            req.end(body);
          }),
      ),
    );
  }

  /** Waits until the group runs two processes again, none of them `victim`. */
  async function waitForReplacementOf(victim: number): Promise<void> {
    await waitUntil(
      'a new process to replace the killed one',
      async () => {
        const now = await groupReplicas();
        return now.length === 2 && !now.map(pidOf).includes(victim);
      },
      { timeoutMs: 60_000 },
    );
  }

  it('runs two serving replicas, answers from both, and counts the whole group in /metrics', async () => {
    await waitUntil('both processes to report as replicas', async () => (await groupReplicas()).length === 2, { timeoutMs: 30_000 });
    const replicas = await groupReplicas();
    expect(new Set(replicas.map(pidOf)).size).toBe(2);
    expect(replicas.map(pidOf)).not.toContain(group!.pid); // the primary serves nothing

    const statuses = await infer(400);
    expect(statuses.filter((s) => s === 200)).toHaveLength(400);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    // Counters are the group's sums, so every request counts once whichever process answered it.
    expect(sampleValue(metrics, `mlcycle_inference_requests_total{model="${name}",version="1",kind="live",code="200"}`)).toBe(400);
    // Gauges stay per process: both answered this scrape.
    expect(sampleValue(metrics, 'mlcycle_inference_pool_threads{worker="1"}')).toBe(1);
    expect(sampleValue(metrics, 'mlcycle_inference_pool_threads{worker="2"}')).toBe(1);
    expect(metrics.split('\n').filter((l) => l === '# TYPE mlcycle_inference_requests_total counter')).toHaveLength(1);
    expect(metrics).toMatch(/^process_resident_memory_bytes\{worker="1"\} \d+/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes\{worker="2"\} \d+/m);
  });

  it('replaces a process that dies, and keeps serving meanwhile', async () => {
    const before = await groupReplicas();
    const victim = pidOf(before[0]);
    process.kill(victim, 'SIGKILL');
    // The survivor answers while the primary starts a new process; a request the dead one held fails, none hangs.
    const during = await infer(80);
    expect(during.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(during).not.toContain(HUNG);
    await waitForReplacementOf(victim);
    expect(group!.running).toBe(true);
    const after = await infer(80);
    expect(after.filter((s) => s === 200)).toHaveLength(80);
  });

  it('leaves no connection waiting on a process that hangs and then dies: a live one takes it', async () => {
    const victim = pidOf((await groupReplicas())[0]);
    // Stopped, the process still looks alive to the primary but accepts nothing, as one stuck before a crash.
    process.kill(victim, 'SIGSTOP');
    const answers = inferOnNewConnections(12);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the connections are made and queued meanwhile
    process.kill(victim, 'SIGKILL');
    // Every connection reaches the live process: none was handed to the stuck one and lost with it.
    expect(await answers).toEqual(new Array(12).fill(200));
    await waitForReplacementOf(victim);
  });

  it('stops every process on SIGTERM and withdraws their replica reports', async () => {
    const replicas = await groupReplicas();
    expect(replicas).toHaveLength(2);
    await group!.stop(30_000);
    const exit = await group!.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    for (const id of replicas) expect(() => process.kill(pidOf(id), 0)).toThrow(); // no process left behind
    expect(await groupReplicas()).toEqual([]);
  });
});
