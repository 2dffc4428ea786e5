/**
 * The bundled example that `npm start` runs: register the Seattle-weather model (multiclass, five kinds of
 * weather from temperature, wind and precipitation), upload its data, and start the model's lifecycle through the
 * REST API, exactly as another system would: the lifecycle trains the first version, rolls it out, serves it with
 * monitoring, and retrains by itself when monitoring finds drift. Safe to run again: the model and the upload are
 * found, and a running lifecycle is answered with its state. It authenticates with the bootstrap admin key from MLCYCLE_ADMIN_KEY, which
 * the launcher passes it (generated into <data>/admin-key on the first `npm start`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LifecycleState } from '../libs/contracts';
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
  // Windows of 10 minutes so a person trying it sees reports come in; without traffic they say insufficient_data.
  monitoring: { window: '10m', minSamples: 100, cooldown: '1h' },
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
  state?: Pick<LifecycleState, 'stage' | 'cycle' | 'championVersion' | 'history'> | null;
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

export async function runExample(base: string, temporalUi: string): Promise<{ workflowId: string }> {
  const created = await call(base, 'POST', '/v1/models', EXAMPLE_SPEC);
  if (created.status !== 201 && created.status !== 409) throw new Error(`creating the model failed: ${created.status} ${JSON.stringify(created.json)}`);
  console.log(created.status === 201 ? `registered model ${EXAMPLE_SPEC.name}` : `model ${EXAMPLE_SPEC.name} already registered`);

  const data = fs.readFileSync(exampleDataPath());
  const upload = await call(base, 'POST', `/v1/models/${EXAMPLE_SPEC.name}/datasets?format=csv`, data, { 'content-type': 'text/csv' });
  if (upload.status !== 201 && upload.status !== 200) throw new Error(`uploading the data failed: ${upload.status} ${JSON.stringify(upload.json)}`);
  console.log(`uploaded ${path.basename(exampleDataPath())} (${data.length} bytes) as dataset ${upload.json.id}`);

  const started = await call(base, 'POST', `/v1/models/${EXAMPLE_SPEC.name}/lifecycle`, { source: upload.json.source });
  if (started.status !== 202 && started.status !== 200) throw new Error(`starting the lifecycle failed: ${started.status} ${JSON.stringify(started.json)}`);
  const workflowId = started.json.workflowId!;
  console.log(`lifecycle ${workflowId} ${started.status === 202 ? 'started' : 'found (running since an earlier start)'}`);
  console.log(`  state:        ${base}/v1/models/${EXAMPLE_SPEC.name}/lifecycle`);
  console.log(`  Temporal UI:  ${temporalUi}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  console.log(`  monitoring:   ${base}/v1/models/${EXAMPLE_SPEC.name}/monitoring`);
  return { workflowId };
}

/** Follows the lifecycle until a champion serves, printing each stage; returns the last state seen. */
export async function followLifecycle(base: string, timeoutMs = 10 * 60_000): Promise<ApiBody['state']> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let state: ApiBody['state'];
  while (Date.now() < deadline) {
    ({ state } = (await call(base, 'GET', `/v1/models/${EXAMPLE_SPEC.name}/lifecycle`)).json);
    const now = state ? `${state.stage} (cycle ${state.cycle})` : '';
    if (now && now !== last) {
      console.log(`  lifecycle: ${now}`);
      last = now;
    }
    if (state?.stage === 'serving' && state.championVersion !== null) return state;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return state;
}

if (require.main === module) {
  const base = `http://127.0.0.1:${process.env.MLCYCLE_API_PORT ?? 3000}`;
  const ui = process.env.MLCYCLE_TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
  runExample(base, ui)
    .then(async () => {
      const state = await followLifecycle(base);
      if (state?.stage === 'serving' && state.championVersion !== null) {
        const cycle = state.history[state.history.length - 1];
        console.log(`${EXAMPLE_SPEC.name} v${state.championVersion} is the champion and serves all traffic (cycle ${cycle?.cycle}: ${cycle?.outcome})`);
        console.log(`  call it:      POST ${base}/v1/models/${EXAMPLE_SPEC.name}/predict  {"records":[{"precipitation":10.9,"temp_max":10.6,"temp_min":2.8,"wind":4.5}]}`);
        console.log(`  it now monitors every ${EXAMPLE_SPEC.monitoring.window} and retrains by itself when the data drifts`);
      } else {
        console.log(`no champion yet: ${JSON.stringify(state?.history?.at(-1) ?? state)}; see GET ${base}/v1/approvals?status=pending`);
      }
    })
    .catch((err) => {
      console.error(`example failed: ${(err as Error).message}`);
      process.exit(1);
    });
}
