/**
 * What the event-loop executor saves per batch by running onnxruntime-node's native session synchronously
 * (libs/ml/onnx/ort.ts SyncSession, used by libs/serving/pool.ts) instead of awaiting the package's
 * InferenceSession.run (two async functions and a setImmediate per run), on the serving benchmark's model.
 *
 *   node bench/serving/session-run.js [--runs N] [--rounds R]
 *
 * Prints µs per run, median of R interleaved rounds of N runs each, for batches of 1, 8 and 64 rows. The peer is
 * InferenceSession.run on the same bytes with the same session options, awaited one run at a time.
 */
import * as os from 'node:os';
import { createOnnxSession, createSyncOnnxSession, float32Tensor } from '../../libs/ml/onnx';
import type { OrtTensor } from '../../libs/ml/onnx';
import { FEATURES, trainModel } from './bench-model';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be a positive whole number`);
  return value;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const runs = arg('runs', 5_000);
  const rounds = arg('rounds', 5);
  const { bytes, rows } = await trainModel();
  const asyncSession = await createOnnxSession(bytes);
  const syncSession = createSyncOnnxSession(bytes);
  const fetches = ['label', 'probabilities'];
  const lines: string[] = [];
  for (const batch of [1, 8, 64]) {
    const feeds: Record<string, OrtTensor> = {};
    for (const f of FEATURES) feeds[f] = float32Tensor(Float32Array.from(rows.slice(0, batch), (r) => r[f]), [batch, 1]);
    const awaited: number[] = [];
    const sync: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let t = performance.now();
      for (let i = 0; i < runs; i++) await asyncSession.run(feeds, fetches);
      awaited.push(((performance.now() - t) / runs) * 1000);
      t = performance.now();
      for (let i = 0; i < runs; i++) syncSession.run(feeds, fetches);
      sync.push(((performance.now() - t) / runs) * 1000);
    }
    const a = median(awaited);
    const s = median(sync);
    lines.push(`| ${batch} | ${a.toFixed(1)} | ${s.toFixed(1)} | ${(a - s).toFixed(1)} | ${(a / s).toFixed(2)} |`);
  }
  await asyncSession.release();
  syncSession.release();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    [
      `Command: node bench/serving/session-run.js --runs ${runs} --rounds ${rounds}`,
      `Machine: ${os.availableParallelism()} vCPU (${cpu}), Node ${process.version}; model: gbdt (100 rounds × 5 classes) on seattle-weather, 4 FP32 inputs.`,
      'Peer: onnxruntime-node InferenceSession.run, awaited one run at a time; mlcycle: the native session run synchronously (SyncSession).',
      '',
      '| rows per run | InferenceSession.run, awaited (µs) | SyncSession.run (µs) | saved (µs) | × |',
      '|---:|---:|---:|---:|---:|',
      ...lines,
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
