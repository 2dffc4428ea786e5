/**
 * Monitoring end to end: a model trained through the real pipeline and promoted by the real rollout serves real
 * predictions; their prediction logs in MinIO, ground truth posted through the API, and the champion's training data
 * feed computeMonitoringWindow (called through the activities factory with the app's registry and store). A window
 * with too few rows says insufficient_data; a window of shifted inputs with wrong answers reports drift, data-quality
 * issues and a quality drop, raises each alert once (registry, audit), asks for a retraining, and is served by the
 * API as a timeline, JSON, alerts and an HTML page — rendered in a real headless Chromium. Each alert goes to a
 * local webhook that fails once and then accepts, with a verified HMAC signature. On SQLite and PostgreSQL.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createMonitoringActivities } from '../../activities/monitoring/monitoring.activities';
import type { MonitoringWindowResult } from '../../activities/monitoring/monitoring.activities';
import { verifyWebhookSignature } from '../../activities/monitoring/window';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { parseModelSpec } from '../../libs/ml/spec';
import type { Model } from '../../libs/registry';
import { describeEachDatabase, uniqueName } from './api-app';
import type { DbKind } from './api-app';
import { call, csvRecords, eventually, featureRecords, openServingSuite, trainVersion, versionModel, weatherSpec } from './serving-support';
import type { ServingSuite } from './serving-support';

const WEATHER_CSV = bundledDatasetPath('weather.csv');
const SECRET_ENV = 'MLCYCLE_TEST_WEBHOOK_SECRET';
const SECRET = 'e2e-webhook-secret';

/** The browser the launcher found or installed (deploy/lib/chromium.mjs), else a system one, else a reason to skip. */
function chromiumPath(): { path: string | null; reason?: string } {
  if (process.env.MLCYCLE_CHROMIUM) return { path: process.env.MLCYCLE_CHROMIUM };
  const found = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
  return found ? { path: found } : { path: null, reason: process.env.MLCYCLE_CHROMIUM_SKIP_REASON ?? 'no Chromium found (npm test installs one with apt-get as root)' };
}
const browser = chromiumPath();
if (!browser.path) {
  console.warn(`\n!!! BROWSER TEST SKIPPED: ${browser.reason} !!!\n`);
}
const itWithBrowser = browser.path ? it : it.skip;

interface Received {
  body: string;
  signature: string | undefined;
  delivery: string | undefined;
  status: number;
}

/** A webhook receiver on 127.0.0.1 that answers 500 to the first delivery of each alert and 204 after that. */
async function startWebhook(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delivery = req.headers['x-mlcycle-delivery'] as string | undefined;
      const status = delivery && seen.has(delivery) ? 204 : 500;
      if (delivery) seen.add(delivery);
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-mlcycle-signature'] as string | undefined, delivery, status });
      res.writeHead(status).end(status === 500 ? 'try again' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describeEachDatabase('monitoring', (db: DbKind) => {
  let suite: ServingSuite;
  let model: Model;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let activities: ReturnType<typeof createMonitoringActivities>;
  let ds: string; // a data-scientist key
  const name = uniqueName('monitored');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-monitoring-e2e-'));
  let features: Awaited<ReturnType<typeof versionModel>>['features'];
  let rows: Record<string, unknown>[];
  const windows: { start: string; end: string }[] = [];
  let drifted: MonitoringWindowResult;

  beforeAll(async () => {
    webhook = await startWebhook();
    suite = await openServingSuite(db, { MLCYCLE_PREDICTION_LOG_FLUSH_MS: '200' });
    const spec = parseModelSpec({
      ...weatherSpec(name, { name: 'gbdt', params: { max_iter: 20 } }),
      // The true labels are tested with the two-sample chi-square (the report says which test ran).
      monitoring: { minSamples: 100, minLabelled: 50, maxQualityDrop: 0.05, columns: { '(label)': { method: 'chi2_contingency' } }, webhook: { url: webhook.url, secretEnv: SECRET_ENV } },
    });
    const trained = await trainVersion(suite, spec, WEATHER_CSV);
    model = trained.model;
    ({ features } = await versionModel(suite, model.id, trained.version));
    rows = featureRecords(csvRecords(WEATHER_CSV), features);
    activities = createMonitoringActivities({ registry: suite.api.registry, store: suite.api.store, workDir: path.join(tmp, 'work'), env: { [SECRET_ENV]: SECRET } });
    ds = await suite.api.keyFor('data-scientist', 'ds@e2e');
  });

  afterAll(async () => {
    await suite?.close();
    await webhook?.close();
  });

  /** Single-row predictions (so each can be labelled by its request ID); returns [requestId, predicted label]. */
  async function predict(records: Record<string, unknown>[]): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for (const record of records) {
      const res = await call(suite, 'POST', `/v1/models/${name}/predict`, { records: [record] });
      expect(res.status).toBe(200);
      out.push([res.json.requestId, res.json.predictions[0].label]);
    }
    return out;
  }

  /** Waits until the prediction log holds `n` records of the window. */
  async function logged(window: { start: string; end: string }, n: number): Promise<void> {
    await eventually(`${n} logged predictions`, async () => {
      let count = 0;
      for (const key of await suite.api.listObjects(`predictions/${name}/`)) {
        const text = (await suite.api.store.getBytes(key)).toString('utf8');
        for (const line of text.split('\n').filter(Boolean)) {
          const ts = (JSON.parse(line) as { ts: string }).ts;
          if (ts >= window.start && ts < window.end) count++;
        }
      }
      return count >= n;
    });
  }

  it('reports a window with too few rows as insufficient_data, never as no drift', async () => {
    const start = new Date().toISOString();
    await predict(rows.slice(0, 10));
    const end = new Date(Date.now() + 1).toISOString();
    windows.push({ start, end });
    await logged({ start, end }, 10);
    const summary = await activities.computeMonitoringWindow({ modelId: model.id, modelName: name, windowStart: start, windowEnd: end });
    expect(summary).toMatchObject({ status: 'insufficient_data', samples: 10, datasetDrift: null, predictionDrift: null, driftShare: null, alerts: [], retrain: null, alertIds: [] });
    expect(summary.championVersion).toBe(model.championVersion);
  });

  it('finds drift, data-quality issues and a quality drop in shifted traffic with wrong answers; alerts once', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const start = new Date().toISOString();
    // Shifted production: 20° warmer, three times the wind, and a category training never saw.
    const shifted = rows.slice(0, 240).map((r, i) => ({
      ...r,
      temp_max: Number(r.temp_max) + 25,
      temp_min: Number(r.temp_min) + 20,
      wind: Number(r.wind) * 3 + 5,
      weather: i % 2 ? 'hail' : r.weather,
    }));
    const answers = await predict(shifted);
    const end = new Date(Date.now() + 1).toISOString();
    windows.push({ start, end });
    await logged({ start, end }, shifted.length);

    // Ground truth: the opposite of every answer (log loss far above evaluation), batched, one unknown request too.
    const other = (label: string) => (label === 'Seattle' ? 'New York' : 'Seattle');
    const items = answers.map(([requestId, label]) => ({ requestId, label: other(label) }));
    const posted = await call(suite, 'POST', `/v1/models/${name}/feedback`, { items: [...items, { requestId: 'never-served', label: 'Seattle' }] });
    expect(posted.status).toBe(200);
    expect(posted.json).toEqual({ accepted: items.length + 1, duplicates: 0, conflicts: [] });
    const again = await call(suite, 'POST', `/v1/models/${name}/feedback`, { items: items.slice(0, 3) }, {}, ds);
    expect(again.json).toEqual({ accepted: 0, duplicates: 3, conflicts: [] });

    const input = { modelId: model.id, modelName: name, windowStart: start, windowEnd: end };
    drifted = await activities.computeMonitoringWindow(input);
    expect(drifted).toMatchObject({ status: 'quality_drop', samples: shifted.length, datasetDrift: true, predictionDrift: expect.any(Boolean) });
    expect(drifted.driftedColumns).toEqual(expect.arrayContaining(['temp_max', 'temp_min', 'wind']));
    expect(drifted.quality).toMatchObject({ metric: 'log_loss', labelled: shifted.length, dropped: true });
    expect(drifted.quality!.online).toBeGreaterThan(drifted.quality!.evaluation + 0.05);
    expect(drifted.retrain).toMatchObject({ kind: 'quality_drop' });
    expect(drifted.alerts.join('\n')).toMatch(/drifted[\s\S]*categories never seen in training \('hail'\)|categories never seen in training \('hail'\)[\s\S]*drifted/);
    const kinds = (await suite.api.registry.listAlerts(model.id)).map((a) => a.kind).sort();
    expect(kinds).toEqual(expect.arrayContaining(['data_quality', 'drift', 'quality_drop']));
    expect(drifted.alertIds).toHaveLength(kinds.length);

    // A retry rewrites the same report and raises nothing new.
    const retried = await activities.computeMonitoringWindow(input);
    expect(retried.reportId).toBe(drifted.reportId);
    expect(retried.alertIds).toEqual(drifted.alertIds);
    expect(await suite.api.registry.listAlerts(model.id)).toHaveLength(kinds.length);
    expect(await suite.api.registry.listMonitoringReports(model.id)).toHaveLength(2);
    const audit = (await suite.api.registry.listAudit({ entityType: 'model', entityId: name })).filter((e) => e.action === 'monitoring.alert');
    expect(audit).toHaveLength(kinds.length);
  });

  it('delivers each alert to the webhook, signed, retrying after a failure, and records the deliveries', async () => {
    for (const alertId of drifted.alertIds) {
      const first = activities.deliverAlertWebhook({ alertId });
      await expect(first).rejects.toBeInstanceOf(ApplicationFailure);
      await expect(first).rejects.toMatchObject({ type: 'WebhookDeliveryFailed', nonRetryable: false });
      await expect(activities.deliverAlertWebhook({ alertId })).resolves.toMatchObject({ status: 'delivered', attempts: 2, url: webhook.url });
      await expect(activities.deliverAlertWebhook({ alertId })).resolves.toMatchObject({ status: 'already_delivered' });
    }
    expect(webhook.received).toHaveLength(2 * drifted.alertIds.length);
    for (const r of webhook.received) {
      expect(verifyWebhookSignature(r.body, SECRET, r.signature)).toBe(true);
      expect(verifyWebhookSignature(r.body, 'wrong', r.signature)).toBe(false);
      const body = JSON.parse(r.body);
      expect(body).toMatchObject({ type: 'mlcycle.monitoring.alert', alertId: r.delivery, model: name, reportId: drifted.reportId });
    }
    const alerts = await call(suite, 'GET', `/v1/models/${name}/alerts`, undefined, {}, ds);
    expect(alerts.status).toBe(200);
    for (const a of alerts.json) {
      expect(a.deliveries).toEqual([expect.objectContaining({ url: webhook.url, attempts: 2, lastStatus: 204, lastError: null, deliveredAt: expect.any(String) })]);
    }
  });

  it('serves the timeline, the report and the alerts; feedback is validated with clear messages', async () => {
    const timeline = await call(suite, 'GET', `/v1/models/${name}/monitoring?limit=10`, undefined, {}, ds);
    expect(timeline.status).toBe(200);
    expect(timeline.json.map((r: { status: string }) => r.status)).toEqual(['quality_drop', 'insufficient_data']);
    expect(timeline.json[0]).toMatchObject({ id: drifted.reportId, samples: 240, datasetDrift: true, links: { html: `/v1/models/${name}/monitoring/${drifted.reportId}/html` } });

    const report = await call(suite, 'GET', `/v1/models/${name}/monitoring/${drifted.reportId}`, undefined, {}, ds);
    expect(report.status).toBe(200);
    expect(report.json.alerts.length).toBe(drifted.alertIds.length);
    expect(report.json.report.verdict).toMatchObject({ headline: 'Model quality dropped', tone: 'alert' });
    expect(report.json.report.dataQuality.columns.find((c: { column: string }) => c.column === 'weather').unseenExamples).toEqual(['hail']);
    expect(report.json.report.operations[0]).toMatchObject({ version: model.championVersion, requests: 240, errors: 0 });
    expect(report.json.report.labelDrift).toMatchObject({ column: 'label', method: 'chi2_contingency', methodChosenBy: 'option' });

    expect((await call(suite, 'GET', `/v1/models/${name}/monitoring/00000000-0000-4000-8000-000000000000`, undefined, {}, ds)).status).toBe(404);
    expect((await call(suite, 'GET', `/v1/models/${name}/monitoring/nope`, undefined, {}, ds)).json.message).toMatch(/not a valid report id/);
    expect((await call(suite, 'GET', `/v1/models/${name}/monitoring?limit=0`, undefined, {}, ds)).json.message).toMatch(/limit must be at least 1/);
    expect((await call(suite, 'GET', `/v1/models/${name}/monitoring`)).status).toBe(403); // a service key only does inference and feedback

    const bad = async (body: unknown) => call(suite, 'POST', `/v1/models/${name}/feedback`, body);
    expect((await bad({ items: [] })).json.message).toMatch(/items must hold at least one entry/);
    expect((await bad({ items: Array.from({ length: 10_001 }, (_, i) => ({ requestId: `r${i}`, label: 'Seattle' })) })).json.message).toMatch(/at most 10000/);
    expect((await bad({ items: [{ requestId: 'x' }] })).json).toMatchObject({ statusCode: 400, message: expect.stringMatching(/classification model: give the true class as `label`/) });
    expect((await bad({ items: [{ requestId: 'x', value: 1 }] })).json.details.map((d: { path: string }) => d.path)).toEqual(['items.0.label', 'items.0.value']);
    expect((await bad({ items: [{ label: 'Seattle' }] })).json.details[0].path).toBe('items.0.requestId');
    expect((await call(suite, 'POST', `/v1/models/no-such-model/feedback`, { items: [{ requestId: 'x', label: 'a' }] })).status).toBe(404);
    const reviewer = await suite.api.keyFor('reviewer', 'rita@e2e');
    expect((await call(suite, 'POST', `/v1/models/${name}/feedback`, { items: [{ requestId: 'x', label: 'a' }] }, {}, reviewer)).status).toBe(403);
  });

  itWithBrowser('renders the report page in a headless browser: verdict first, charts drawn', async () => {
    const puppeteer = await import('puppeteer-core');
    const chrome = await puppeteer.launch({ executablePath: browser.path!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await chrome.newPage();
      await page.setExtraHTTPHeaders({ authorization: `Bearer ${ds}` });
      await page.setViewport({ width: 1200, height: 900 });
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(suite.api.url)) external.push(r.url());
      });
      const response = await page.goto(`${suite.api.url}/v1/models/${name}/monitoring/${drifted.reportId}/html`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-type']).toMatch(/text\/html/);
      // Plain JavaScript run in the page (the test's TypeScript has no DOM types).
      const facts = (await page.evaluate(`(() => {
        const verdict = document.querySelector('#verdict');
        const paths = (sel) => Array.from(document.querySelectorAll(sel)).map((p) => p.getAttribute('d') || '');
        return {
          headline: document.querySelector('#verdict-headline')?.textContent ?? '',
          why: document.querySelector('#why')?.textContent ?? '',
          todo: document.querySelector('#what-to-do')?.textContent ?? '',
          verdictFirst: document.body.querySelector('section') === verdict,
          verdictTop: verdict ? verdict.getBoundingClientRect().top : -1,
          histograms: document.querySelectorAll('#drifting-features figure.histogram svg').length,
          histogramColumns: Array.from(document.querySelectorAll('#drifting-features figure.histogram')).map((f) => f.getAttribute('data-column')),
          currentPaths: paths('#drifting-features path.current'),
          baselinePaths: paths('#drifting-features path.baseline'),
          barBoxes: Array.from(document.querySelectorAll('#drifting-features path.current')).map((s) => { const b = s.getBBox(); return b.width * b.height; }),
          timelinePaths: paths('#timelines path.line'),
          predictionChart: document.querySelectorAll('#prediction-drift svg').length,
        };
      })()`)) as {
        headline: string;
        why: string;
        todo: string;
        verdictFirst: boolean;
        verdictTop: number;
        histograms: number;
        histogramColumns: string[];
        currentPaths: string[];
        baselinePaths: string[];
        barBoxes: number[];
        timelinePaths: string[];
        predictionChart: number;
      };
      expect(facts.headline).toBe('Model quality dropped');
      expect(facts.why).toMatch(/log_loss/);
      expect(facts.todo).toMatch(/retrain/i);
      expect(facts.verdictFirst).toBe(true);
      expect(facts.verdictTop).toBeLessThan(100);
      expect(facts.histograms).toBe(drifted.driftedColumns.length);
      expect(facts.histogramColumns).toEqual(expect.arrayContaining(['temp_max', 'temp_min', 'wind']));
      for (const d of [...facts.currentPaths, ...facts.baselinePaths]) expect(d).toMatch(/^M[\d.]+,[\d.]+V[\d.]+H/);
      for (const area of facts.barBoxes) expect(area).toBeGreaterThan(0);
      expect(facts.timelinePaths.length).toBeGreaterThanOrEqual(2);
      expect(facts.timelinePaths.some((d) => /L/.test(d))).toBe(true);
      expect(facts.predictionChart).toBe(1);
      expect(external).toEqual([]);
      const shot = path.join(tmp, `monitoring-report-${db}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
      console.log(`monitoring report screenshot: ${shot}`);
    } finally {
      await chrome.close();
    }
  });
});
