"""Where the serving time goes: builds patched scratch copies of the compiled API (dist/) under bench/.work/exp,
each with one cost of the inference path removed, and a --variants file that runs them beside the shipped build.
Nothing here is shipped; the copies only measure what a product change would buy before anyone makes it.

    npx tsc -p tsconfig.build.json && python3 bench/serving/diagnose_variants.py
    node bench/serving/run.js --no-build --no-mlflow --diagnose --variants bench/.work/exp/variants.json \
        --only "batching on,diag:,exp:" --seconds 5 --rounds 3 --out bench/.work/exp/results-diag.md

Patches are exact-text replacements on dist/ and fail loudly (AssertionError) when the compiled code has moved on.
"""
import json
import os
import shutil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXP = os.path.join(ROOT, "bench", ".work", "exp")


def copy(name):
    d = f'{EXP}/{name}'
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, 'dist'), d)
    return d

def patch(path, old, new):
    s = open(path).read()
    assert old in s, (path, old)
    open(path, 'w').write(s.replace(old, new, 1))

# 1. no API-key check on the fast path (the patched authorize returns at once)
d = copy('noauth')
patch(f'{d}/api/inference/fast-path.js', "    async authorize(req, api, versioned) {\n", "    async authorize(req, api, versioned) {\n        return;\n")

# 2. no metrics / traffic-window stats in replica.complete (prediction log kept)
d = copy('nometrics')
patch(f'{d}/libs/serving/replica.js', """        this.metrics.requests.inc({ ...labels, code: String(done.status) });""", """        // metrics skipped (experiment)""")
s = open(f'{d}/libs/serving/replica.js').read()
s = s.replace("""        if (error)
            this.metrics.errors.inc(labels);
        this.metrics.duration.observe(labels, latencyMs / 1000);
        if (!error && done.rows)
            this.metrics.rows.inc(labels, done.rows);
        if (target.kind === 'live') {""", """        if (false) {""", 1)
open(f'{d}/libs/serving/replica.js', 'w').write(s)

# 3. both, plus the prediction log off by configuration in the variant: the floor of the pipeline around the thread hop
d = copy('lean')
patch(f'{d}/api/inference/fast-path.js', "    async authorize(req, api, versioned) {\n", "    async authorize(req, api, versioned) {\n        return;\n")
shutil.copy(f'{EXP}/nometrics/libs/serving/replica.js', f'{d}/libs/serving/replica.js')

# 4. the shipped API in N processes sharing the port (node:cluster), each with its own replica and threads
open(f'{EXP}/cluster-main.js', 'w').write("""// node:cluster around the shipped dist/api/main.js (experiment)
const cluster = require('node:cluster');
const n = Number(process.env.EXP_PROCESSES || 2);
if (cluster.isPrimary) {
  for (let i = 0; i < n; i++) cluster.fork();
  process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM'); });
  cluster.on('exit', () => { if (!Object.keys(cluster.workers).length) process.exit(0); });
} else require(process.env.EXP_ENTRY || %s);
""" % json.dumps(os.path.join(ROOT, "dist", "api", "main.js")))

# 5. small requests run inline on the event loop when every inference thread is idle and nothing waits
d = copy('inline')
P = f'{d}/libs/serving/pool.js'
patch(P, """        this.models.set(key, bytes);
        const first = replies[0];""", """        this.models.set(key, bytes);
        (this.inlineSessions ??= new Map()).set(key, await require('../ml/onnx/runner').createOnnxSession(bytes, { intraOpNumThreads: 1 }));
        const first = replies[0];""")
patch(P, """    run(key, columns, rows, fetches, priority = 'live') {
        if (!this.models.has(key))
            return Promise.reject(new ModelNotLoadedError(key));""", """    async runInline(key, session, columns, rows, fetches) {
        const { float32Tensor, stringTensor } = require('../ml/onnx/ort');
        this.inlineBusy = (this.inlineBusy ?? 0) + 1;
        try {
            const feeds = {};
            for (const [name, data] of Object.entries(columns))
                feeds[name] = Array.isArray(data) ? stringTensor(data, [rows, 1]) : float32Tensor(data, [rows, 1]);
            const t0 = performance.now();
            const result = await session.run(feeds, fetches);
            this.options.onBatch?.({ key, rows, requests: 1, runMs: performance.now() - t0, priority: 'live' });
            const outputs = {};
            for (const name of fetches) {
                const t = result[name];
                outputs[name] = { dims: [...t.dims], data: t.type === 'string' ? t.data : new Float32Array(t.data) };
            }
            return outputs;
        } finally {
            this.inlineBusy--;
        }
    }
    run(key, columns, rows, fetches, priority = 'live') {
        if (!this.models.has(key))
            return Promise.reject(new ModelNotLoadedError(key));
        const inline = this.inlineSessions?.get(key);
        if (inline && priority === 'live' && rows <= 8 && !this.inlineBusy && this.queue.depth.live === 0 && this.slots.every((s) => s.inflight === 0))
            return this.runInline(key, inline, columns, rows, fetches);""")

variants = [
  {"name": "exp: /v2 on, no auth check", "entry": "bench/.work/exp/noauth/api/main.js"},
  {"name": "exp: /v2 on, no metrics/stats", "entry": "bench/.work/exp/nometrics/api/main.js"},
  {"name": "exp: /v2 on, no auth/metrics/stats/log", "entry": "bench/.work/exp/lean/api/main.js", "env": {"MLCYCLE_PREDICTION_LOG_SAMPLE": "0"}},
  {"name": "exp: /v2 on, 1 thread + log off (config only)", "env": {"MLCYCLE_INFERENCE_THREADS": "1", "MLCYCLE_PREDICTION_LOG_SAMPLE": "0"}},
  {"name": "exp: /v2 on, inline when threads idle", "entry": "bench/.work/exp/inline/api/main.js"},
  {"name": "exp: /v2 on, 2 processes x 1 thread (cluster)", "entry": "bench/.work/exp/cluster-main.js", "env": {"MLCYCLE_INFERENCE_THREADS": "1", "EXP_PROCESSES": "2"}},
  {"name": "exp: /v2 on, lean, 2 processes x 1 thread", "entry": "bench/.work/exp/cluster-main.js", "env": {"MLCYCLE_INFERENCE_THREADS": "1", "EXP_PROCESSES": "2", "EXP_ENTRY": os.path.join(EXP, "lean", "api", "main.js"), "MLCYCLE_PREDICTION_LOG_SAMPLE": "0"}},
]
with open(os.path.join(EXP, "variants.json"), "w") as f:
    json.dump(variants, f, indent=1)
print(f"wrote {len(variants)} variants to {os.path.join(EXP, 'variants.json')}")
