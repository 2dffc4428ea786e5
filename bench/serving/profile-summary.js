#!/usr/bin/env node
/**
 * Summarizes a V8 .cpuprofile of a serving process: its busy (non-idle) time by stage of the inference path. Each
 * sample goes to the first rule below that matches any frame of its stack, rules in order. Samples are wall-clock
 * ticks, so on a busy machine a stage that was descheduled looks bigger than its CPU cost: read shares, not times.
 *
 *   BENCH_PROF=$PWD/bench/.work/prof node bench/serving/run.js --no-mlflow --only "batching on" --concurrency 64 \
 *     --seconds 20 --rounds 1 --out bench/.work/prof/results.md
 *   node bench/serving/profile-summary.js bench/.work/prof/CPU.<…>.cpuprofile   (one file per process and thread)
 */
const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const rules = [
  ['startup (module loading, Nest boot)', /Module\._load|NestFactory|bootstrap/],
  ['prediction log (queue, serialize, S3 PUT)', /prediction-log\.js|nm\/minio|PredictionLogger|putObject/],
  ['replica.complete (metrics, traffic window, log record)', /^complete .*replica\.js/],
  ['API-key check', /^authorize |resolveCaller|callerForKey/],
  ['decode + validate OIP body', /decodeInferRequest|decodeRawInferBody|splitBinaryBody|readRaw/],
  ['encode OIP answer', /encodeInferResponse/],
  ['thread hop (queue, postMessage, replies)', /^(pump|dispatch|onReply|splitOutputs|concatColumns|run) .*(pool|batch-queue|replica)\.js|postMessage|messageport|event_target/],
  ['session.run on the event loop (bare)', /backend\.js|inference-session-impl/],
  ['JSON.parse / stringify (bare)', /^(parse|stringify) /],
  ['HTTP response write (incl. loopback TCP send)', /writev|^write |_http_outgoing|send .*oip\.controller|writeHead|^end /],
  ['HTTP request parse / dispatch', /_http_server|_http_incoming|_http_common|parserOn|HTTPParser|onStreamRead|^route .*fast-path/],
  ['stats flush / reconcile (registry, SQLite)', /typeorm|better-sqlite3|reconcile|flushStats/],
  ['GC', /garbage collector/],
];
const cat = new Map(); let busy = 0;
for (let i = 0; i < p.samples.length; i++) {
  const d = p.timeDeltas[i] || 0; let id = p.samples[i];
  const leaf = byId.get(id).callFrame.functionName;
  if (leaf === '(idle)') continue;
  busy += d;
  let name = 'other';
  const frames = [];
  while (id !== undefined) { const cf = byId.get(id).callFrame; frames.push(`${cf.functionName || '(anon)'} ${cf.url.replace(/^.*node_modules\//, 'nm/')}`); id = parent.get(id); }
  outer: for (const [n, re] of rules) for (const f of frames) if (re.test(f)) { name = n; break outer; }
  cat.set(name, (cat.get(name) || 0) + d);
}
console.log(`busy ${(busy / 1e6).toFixed(1)} s`);
for (const [k, t] of [...cat].sort((a, b) => b[1] - a[1])) console.log(`${(100 * t / busy).toFixed(1).padStart(5)}%  ${(t / 1e6).toFixed(2).padStart(6)} s  ${k}`);
