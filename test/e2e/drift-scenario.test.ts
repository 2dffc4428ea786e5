/**
 * A real drift scenario, end to end on the real stack with accelerated windows: Seattle's weather (vega-datasets).
 *
 * What the data says (2012–2013 against 2014–2015, counted from the file): the label mix moves — fog goes from
 * 3% of days to 11%, drizzle from 6% to 1%, snow all but vanishes — and the years get warmer (temp_min +1.0 °C,
 * temp_max +1.5 °C on average; two-sample KS p = 0.001 and 0.0002), while precipitation stays put (p = 0.37) and
 * wind barely moves (p = 0.12). The weather is strongly seasonal, so a window of a
 * few weeks compared with a whole-year baseline would "drift" every month; a careful monitor compares a sample
 * that spans the seasons with the training data. The replay therefore draws a seeded sample of days across each
 * period (the same way for both), sends them as production traffic and returns their true labels as feedback.
 *
 * The model (gradient-boosted trees, judged on log loss, the metric that sees over-confident wrong answers) is
 * trained on 2012–2013 by its lifecycle. Then:
 * - a replay of the training period triggers nothing (no drift, no quality drop, no retraining);
 * - a replay of 2014–2015 is flagged for what really moved (the label mix, the temperatures; never precipitation
 *   or wind) and triggers exactly one retraining, on the labelled production traffic only (monitoring.retrainData
 *   'feedback': a re-shuffled mix of old and new rows would put the champion's own training rows in the new test
 *   split and flatter it); the candidate beats the champion on fresh held-out 2014–2015 rows by the policy's margin,
 *   is approved by policy (unless_better), rolled out and becomes champion; and nothing retrains again.
 * SQLite only: this exercises the lifecycle, not the database (the monitoring suites run on both).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type TestAgent from 'supertest/lib/agent';
import { lifecycleWorkflowId } from '../../libs/contracts';
import type { LifecycleState, MonitoringSummary } from '../../libs/contracts';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { uniqueName } from './api-app';
import { AUTHOR, eventually, openRolloutSuite } from './rollout-support';
import type { RolloutSuite } from './rollout-support';

const CSV = bundledDatasetPath('seattle-weather.csv');
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'] as const;
const WINDOW_MS = 20_000;
const REPLAY_ROWS = 600;

interface Day {
  line: string;
  year: number;
  record: Record<string, number>;
  weather: string;
}

function days(): { header: string; all: Day[] } {
  const [header, ...lines] = fs.readFileSync(CSV, 'utf8').trim().split('\n');
  const columns = header.split(',');
  const all = lines.map((line) => {
    const cells = line.split(',');
    const row = Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
    return { line, year: Number(row.date.slice(0, 4)), record: Object.fromEntries(FEATURES.map((f) => [f, Number(row[f])])), weather: row.weather };
  });
  return { header, all };
}

/** A seeded sample of n days without replacement (mulberry32 + Fisher–Yates), in date order like real traffic. */
function sampleDays(pool: Day[], n: number, seed: number): Day[] {
  let t = seed >>> 0;
  const random = () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = Math.imul(t ^ (t >>> 15), 1 | t);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const indices = pool.map((_, i) => i);
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, n).sort((a, b) => a - b).map((i) => pool[i]);
}

describe('drift scenario: Seattle weather, trained on 2012–2013, serving 2014–2015 (sqlite)', () => {
  let suite: RolloutSuite;
  let alice: TestAgent;
  let service: string;
  const name = uniqueName('seattle');

  beforeAll(async () => {
    // Prediction logs flushed every half second, so a window's traffic is in storage when the window closes.
    suite = await openRolloutSuite('sqlite', { MLCYCLE_PREDICTION_LOG_FLUSH_MS: '500' });
    alice = await suite.as('data-scientist', AUTHOR);
    service = await suite.api.keyFor('service', 'frontend@e2e');
  });
  afterAll(async () => {
    await suite?.api.temporal.workflow.getHandle(lifecycleWorkflowId(name)).terminate('e2e cleanup').catch(() => undefined);
    await suite?.close();
  });

  async function lifecycle(): Promise<LifecycleState> {
    return (await alice.get(`/v1/models/${name}/lifecycle`)).body.state as LifecycleState;
  }

  async function lifecycleWhen(what: string, ok: (s: LifecycleState) => boolean, timeoutMs = 120_000): Promise<LifecycleState> {
    let last: LifecycleState | undefined;
    try {
      return await eventually(what, async () => ((last = await lifecycle()) && ok(last) ? last : undefined), timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last lifecycle: ${JSON.stringify(last)}`);
    }
  }

  /** The next window's report after `after` (its windowEnd), once the monitor has closed it. */
  async function nextReport(after: string | null): Promise<MonitoringSummary> {
    const state = await lifecycleWhen('the next monitoring window', (s) => s.lastMonitoring !== null && (after === null || s.lastMonitoring.windowEnd > after), WINDOW_MS * 3);
    return state.lastMonitoring!;
  }

  /** Sends each day as one prediction (4 callers at a time), then its true label as feedback. */
  async function replay(phase: string, sample: Day[]): Promise<void> {
    const tag = `${phase}-${randomBytes(3).toString('hex')}`;
    let next = 0;
    const caller = async () => {
      while (next < sample.length) {
        const i = next++;
        const res = await fetch(`${suite.api.url}/v1/models/${name}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json', 'x-request-id': `${tag}-${i}` },
          body: JSON.stringify({ records: [sample[i].record] }),
        });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    };
    await Promise.all([caller(), caller(), caller(), caller()]);
    const items = sample.map((d, i) => ({ requestId: `${tag}-${i}`, label: d.weather }));
    const feedback = await fetch(`${suite.api.url}/v1/models/${name}/feedback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    expect(feedback.status).toBeLessThan(300);
  }

  it('flags what really moved, retrains exactly once on the new labelled traffic, and promotes the better model', async () => {
    const { header, all } = days();
    const trainingPeriod = all.filter((d) => d.year <= 2013);
    const laterYears = all.filter((d) => d.year >= 2014);

    const spec = {
      name,
      task: 'multiclass_classification',
      target: 'weather',
      features: { exclude: ['date'] },
      trainer: { name: 'gbdt', params: { max_iter: 100 } },
      split: { seed: 7 },
      evaluation: { primaryMetric: 'log_loss', mustBeatBaseline: true },
      approval: { policy: 'unless_better', margin: 0.05 },
      rollout: { strategy: ['canary'], canary: { steps: [100], bakeTime: '1s', minRequests: 0 } },
      monitoring: { window: '20s', minSamples: 300, minLabelled: 300, maxQualityDrop: 0.05, cooldown: '1h', retrainData: 'feedback' },
    };
    expect((await alice.post('/v1/models').send(spec)).status).toBe(201);
    const upload = await alice
      .post(`/v1/models/${name}/datasets?format=csv`)
      .set('Content-Type', 'text/csv')
      .send([header, ...trainingPeriod.map((d) => d.line)].join('\n'));
    expect(upload.status).toBe(201);
    expect((await alice.post(`/v1/models/${name}/lifecycle`).send({ source: upload.body.source })).status).toBe(202);
    await lifecycleWhen('v1 to serve, monitored', (s) => s.stage === 'serving' && s.championVersion === 1 && s.monitoringWorkflowId !== null, 180_000);

    // An empty window says so: never "no drift".
    const empty = await nextReport(null);
    expect(empty).toMatchObject({ status: 'insufficient_data', samples: 0, datasetDrift: null, retrain: null });

    // 1. The training period, replayed: nothing moved, nothing happens.
    await replay('control', sampleDays(trainingPeriod, REPLAY_ROWS, 2012));
    const control = await nextReport(empty.windowEnd);
    process.stdout.write(`drift scenario, control window: ${JSON.stringify(control)}\n`);
    expect(control).toMatchObject({ status: 'ok', samples: REPLAY_ROWS, datasetDrift: false, labelDrift: false, retrain: null, alerts: [] });
    expect(control.quality).toMatchObject({ metric: 'log_loss', labelled: REPLAY_ROWS, dropped: false });
    expect(await lifecycle()).toMatchObject({ stage: 'serving', cycle: 1, pendingTriggers: [] });

    // 2. 2014–2015, replayed the same way: the shift is found and answered by one retraining.
    await replay('shift', sampleDays(laterYears, REPLAY_ROWS, 2014));
    const retraining = await lifecycleWhen('the drift to start a retraining', (s) => s.cycle === 2);
    const trigger = retraining.history.length > 1 ? retraining.history[1].trigger! : retraining.pendingTriggers[0] ?? null;
    const shift = retraining.lastMonitoring!;
    process.stdout.write(`drift scenario, shift window: ${JSON.stringify(shift)}\n`);
    expect(shift.samples).toBe(REPLAY_ROWS);
    expect(shift.labelDrift).toBe(true);
    expect(shift.alerts.join('\n')).toMatch(/fog \d+% → \d+%/);
    // On the whole periods (SciPy's ks_2samp, 2012–2013 against 2014–2015): temp_max p = 0.0002 and temp_min p = 0.001
    // moved; precipitation p = 0.37 did not; wind p = 0.12 is weak either way, so it is not asserted.
    expect(shift.driftedColumns).toEqual(expect.arrayContaining(['temp_max', 'temp_min']));
    expect(shift.driftedColumns).not.toContain('precipitation');
    expect(shift.quality).toMatchObject({ metric: 'log_loss', labelled: REPLAY_ROWS, dropped: true });
    const report = (await alice.get(`/v1/models/${name}/monitoring/${shift.reportId}`)).body;
    expect(report).toBeDefined();

    const promoted = await lifecycleWhen('the retrained version to be promoted', (s) => s.cycle === 2 && s.stage === 'serving', 240_000);
    process.stdout.write(`drift scenario, cycle 2: ${JSON.stringify(promoted.history[1])}\n`);
    expect(promoted.history[1]).toMatchObject({ cycle: 2, outcome: 'promoted', version: 2, trigger: { by: 'monitor', reportId: shift.reportId } });
    expect(trigger?.kind ?? promoted.history[1].trigger!.kind).toMatch(/^(label_drift|quality_drop|drift)$/);
    expect(promoted.championVersion).toBe(2);
    // Evaluated on fresh held-out 2014–2015 rows, which the champion never trained on: better by the margin.
    const evaluation = (await alice.get(`/v1/runs/${promoted.history[1].runId}`)).body.evaluation;
    process.stdout.write(`drift scenario, retraining evaluation: ${JSON.stringify(evaluation)}\n`);
    expect(evaluation).toMatchObject({ passed: true, primaryMetric: 'log_loss', championVersion: 1 });
    expect(evaluation.candidate).toBeLessThan(evaluation.champion - 0.05);
    const runs = (await alice.get(`/v1/models/${name}/runs`)).body as { requestedBy: string; source: string }[];
    expect(runs).toHaveLength(2);
    expect(runs[0].requestedBy).toBe('system:lifecycle'); // newest first: the retraining, approvable by any reviewer
    expect(runs[0].source).toMatch(/^s3:\/\/.*\/retraining\//); // the labelled production traffic
    const v2 = (await alice.get(`/v1/models/${name}/versions/2`)).body;
    expect(v2.status).toBe('champion');
    // Approved by policy: it beat the champion by the margin, so no reviewer was asked.
    const pending = (await alice.get('/v1/approvals').query({ model: name, status: 'pending' })).body as unknown[];
    expect(pending).toEqual([]);

    // Nothing retrains again: the next windows compare with the new champion, and the cooldown holds anyway.
    const after = await nextReport(promoted.lastMonitoring?.windowEnd ?? shift.windowEnd);
    expect(after.championVersion).toBe(2);
    expect((await lifecycle()).cycle).toBe(2);
    expect((await alice.get(`/v1/models/${name}/runs`)).body).toHaveLength(2);
  }, 900_000);
});
