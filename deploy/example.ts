/**
 * The bundled example that `npm start` runs: register the Seattle-weather model (multiclass, five kinds of
 * weather from temperature, wind and precipitation), upload its data, and start a training run through the REST
 * API, exactly as another system would. Safe to run again: the model and the upload are found, and the run is
 * deduplicated by its Idempotency-Key. It authenticates with the bootstrap admin key from MLCYCLE_ADMIN_KEY, which
 * the launcher passes it (generated into <data>/admin-key on the first `npm start`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { bundledDatasetPath } from '../libs/ml/data/bundled';

export const EXAMPLE_SPEC = {
  name: 'seattle-weather',
  description: 'Daily weather type in Seattle from temperatures, wind and precipitation (vega-datasets).',
  task: 'multiclass_classification',
  target: 'weather',
  features: { exclude: ['date'] },
  data: { format: 'csv' },
  trainer: { name: 'gbdt', params: { max_iter: 100, learning_rate: 0.1, max_leaf_nodes: 15 } },
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42, stratify: true },
  evaluation: { primaryMetric: 'balanced_accuracy', mustBeatBaseline: true, championMargin: 0 },
  // A reviewer is asked only when a new version does not clearly beat the champion; the first version has none.
  approval: { policy: 'unless_better', margin: 0.01 },
  rollout: { strategy: ['shadow', 'canary'], shadow: { bakeTime: '1m', minRequests: 0 }, canary: { steps: [10, 50, 100], bakeTime: '1m', minRequests: 0 } },
};

export function exampleDataPath(): string {
  return bundledDatasetPath('seattle-weather.csv');
}

/** The fields of API responses the example reads. */
interface ApiBody {
  id?: string;
  sha256?: string;
  source?: string;
  runId?: string;
  workflowId?: string;
  status?: string;
  currentStep?: string;
  version?: number;
  error?: string | null;
  message?: string;
  evaluation?: { reasons?: string[] };
  championVersion?: number | null;
}

function apiKey(): string {
  const key = process.env.MLCYCLE_ADMIN_KEY;
  if (!key) throw new Error('MLCYCLE_ADMIN_KEY is not set: the example calls the API with the bootstrap admin key (npm start passes it)');
  return key;
}

async function call(base: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: ApiBody }> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${apiKey()}`, ...(body && !(body instanceof Buffer) ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body instanceof Buffer ? body : body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json: ApiBody;
  try {
    json = text ? (JSON.parse(text) as ApiBody) : {};
  } catch {
    json = { message: text };
  }
  return { status: response.status, json };
}

export async function runExample(base: string, temporalUi: string): Promise<{ runId: string; workflowId: string }> {
  const created = await call(base, 'POST', '/v1/models', EXAMPLE_SPEC);
  if (created.status !== 201 && created.status !== 409) throw new Error(`creating the model failed: ${created.status} ${JSON.stringify(created.json)}`);
  console.log(created.status === 201 ? `registered model ${EXAMPLE_SPEC.name}` : `model ${EXAMPLE_SPEC.name} already registered`);

  const data = fs.readFileSync(exampleDataPath());
  const upload = await call(base, 'POST', `/v1/models/${EXAMPLE_SPEC.name}/datasets?format=csv`, data, { 'content-type': 'text/csv' });
  if (upload.status !== 201 && upload.status !== 200) throw new Error(`uploading the data failed: ${upload.status} ${JSON.stringify(upload.json)}`);
  console.log(`uploaded ${path.basename(exampleDataPath())} (${data.length} bytes) as dataset ${upload.json.id}`);

  // The same spec and data always map to the same run, so a restart shows the earlier run instead of a new one.
  const key = createHash('sha256').update(JSON.stringify(EXAMPLE_SPEC)).update(upload.json.sha256 ?? '').digest('hex').slice(0, 32);
  const run = await call(base, 'POST', `/v1/models/${EXAMPLE_SPEC.name}/runs`, { source: upload.json.source }, { 'idempotency-key': `example-${key}` });
  if (run.status !== 202 && run.status !== 200) throw new Error(`starting the run failed: ${run.status} ${JSON.stringify(run.json)}`);
  const runId = run.json.runId!;
  const workflowId = run.json.workflowId!;
  console.log(`training run ${runId} ${run.status === 202 ? 'started' : 'found (already started earlier)'}`);
  console.log(`  run status:   ${base}/v1/runs/${runId}`);
  console.log(`  Temporal UI:  ${temporalUi}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  console.log(`  versions:     ${base}/v1/models/${EXAMPLE_SPEC.name}/versions`);
  return { runId, workflowId };
}

/** Waits for the run to finish and prints the outcome; returns the final run document. */
export async function waitForRun(base: string, runId: string, timeoutMs = 10 * 60_000): Promise<ApiBody> {
  const deadline = Date.now() + timeoutMs;
  let lastStep = '';
  while (Date.now() < deadline) {
    const { json } = await call(base, 'GET', `/v1/runs/${runId}`);
    const step = json?.currentStep ?? '';
    if (step && step !== lastStep) {
      console.log(`  step: ${step}`);
      lastStep = step;
    }
    if (json.status && ['succeeded', 'failed', 'rejected'].includes(json.status)) return json;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`run ${runId} did not finish within ${timeoutMs / 1000} s`);
}

/** Polls the model until `version` is its champion (the rollout promoted it); false after the timeout. */
export async function waitForChampion(base: string, version: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { json } = await call(base, 'GET', `/v1/models/${EXAMPLE_SPEC.name}`);
    if (json.championVersion === version) return true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return false;
}

if (require.main === module) {
  const base = `http://127.0.0.1:${process.env.MLCYCLE_API_PORT ?? 3000}`;
  const ui = process.env.MLCYCLE_TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
  runExample(base, ui)
    .then(async ({ runId }) => {
      const run = await waitForRun(base, runId);
      if (run.status === 'succeeded') {
        console.log(`run ${run.status}: registered ${EXAMPLE_SPEC.name} v${run.version} — ${run.evaluation?.reasons?.join('; ')}`);
        const rolloutId = `rollout/${EXAMPLE_SPEC.name}/v${run.version}`;
        console.log(`rollout of v${run.version} (approval policy, then shadow and canary): ${ui}/namespaces/default/workflows/${encodeURIComponent(rolloutId)}`);
        const champion = await waitForChampion(base, run.version!, 5 * 60_000);
        console.log(champion ? `v${run.version} is the champion and serves all traffic` : `v${run.version} is not champion yet: see GET ${base}/v1/approvals?status=pending`);
      } else {
        console.log(`run ${run.status}: ${run.error ?? run.evaluation?.reasons?.join('; ')}`);
      }
    })
    .catch((err) => {
      console.error(`example failed: ${(err as Error).message}`);
      process.exit(1);
    });
}
