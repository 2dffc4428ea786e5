import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FeatureColumn, TypedTable } from '../data/types';
import { readMlcycleMetadata } from '../onnx/contract';
import { emitRegressionHead } from '../onnx/heads';
import { addFeatureInputs } from '../onnx/contract';
import { encodeModel, GraphBuilder } from '../onnx/model';
import { runOnnxModel } from '../onnx/runner';
import { getTrainer } from '../trainers/registry';
import type { ExternalHeartbeat, RunExternalTrainerOptions } from './runner';
import { ExternalTrainerError, runExternalTrainer } from './runner';
import { ExternalTrainerRegistryError, loadExternalTrainerRegistry } from './registry';

const FEATURES: FeatureColumn[] = [
  { name: 'x', kind: 'numeric' },
  { name: 'colour', kind: 'categorical' },
];

let root: string;
let counter = 0;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-external-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** rows of y = (x > 0 xor colour == 'red') with some missing cells; also returns the TypedTable */
function dataset(n: number): { csv: string; table: TypedTable } {
  const x = new Float64Array(n);
  const colour: (string | null)[] = [];
  const y: string[] = [];
  let csv = 'x,colour,y\n';
  for (let i = 0; i < n; i++) {
    x[i] = i % 13 === 0 ? NaN : ((i * 37) % 100) / 10 - 5;
    colour.push(i % 7 === 0 ? null : ['red', 'blue', 'green'][i % 3]);
    y.push((x[i] > 0) !== (colour[i] === 'red') ? 'up' : 'down');
    csv += `${Number.isNaN(x[i]) ? '' : x[i]},${colour[i] ?? ''},${y[i]}\n`;
  }
  return { csv, table: { schema: { columns: [] }, rowCount: n, numeric: { x }, categorical: { colour, y } } };
}

/** A work dir with train/validation CSVs and a node "trainer" script with the given body. */
function setup(script: string, extra: Partial<RunExternalTrainerOptions> = {}): RunExternalTrainerOptions {
  const dir = path.join(root, `case-${counter++}`);
  fs.mkdirSync(dir, { recursive: true });
  const { csv } = dataset(120);
  fs.writeFileSync(path.join(dir, 'train.csv'), csv);
  fs.writeFileSync(path.join(dir, 'validation.csv'), csv);
  const file = path.join(dir, 'trainer.js');
  fs.writeFileSync(file, `const fs = require('fs'); const path = require('path');\n${script}\n`);
  return {
    command: [process.execPath, file],
    workDir: dir,
    trainPath: path.join(dir, 'train.csv'),
    validationPath: path.join(dir, 'validation.csv'),
    params: { depth: 3 },
    spec: { task: 'binary_classification', target: 'y', features: FEATURES },
    timeoutMs: 20_000,
    heartbeatIntervalMs: 50,
    trainerName: 'fake',
    ...extra,
  };
}

/** A genuine mlcycle model for the dataset, written to a file the fake trainer copies. */
async function goodModelFile(): Promise<string> {
  const { table } = dataset(120);
  const rows = Uint32Array.from({ length: 120 }, (_, i) => i);
  const model = await getTrainer('gbdt').train({
    table,
    features: FEATURES,
    target: 'y',
    task: 'binary_classification',
    trainRows: rows,
    validRows: new Uint32Array(0),
    params: { min_samples_leaf: 3 },
    seed: 1,
  });
  const file = path.join(root, `good-${counter++}.onnx`);
  fs.writeFileSync(file, model.onnx);
  return file;
}

const COPY_MODEL = `fs.copyFileSync(process.env.MODEL_SOURCE, path.join(process.env.MLCYCLE_OUTPUT_DIR, 'model.onnx'));`;

async function failure(opts: RunExternalTrainerOptions): Promise<ExternalTrainerError> {
  try {
    await runExternalTrainer(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ExternalTrainerError);
    return err as ExternalTrainerError;
  }
  throw new Error('runExternalTrainer should have failed');
}

describe('loadExternalTrainerRegistry', () => {
  it('loads the example registry and resolves ./ paths against its folder', () => {
    const file = path.join(__dirname, '../../../examples/trainers/registry.json');
    const registry = loadExternalTrainerRegistry(file);
    expect(Object.keys(registry)).toEqual(['sklearn']);
    expect(registry.sklearn.command).toEqual(['python3', path.resolve(path.dirname(file), 'sklearn_trainer.py')]);
  });

  it('reports every problem with the file', () => {
    const file = path.join(root, 'registry-bad.json');
    fs.writeFileSync(file, JSON.stringify({ good: { command: ['x'] }, bad: { command: [] }, other: { cmd: ['y'] } }));
    expect(() => loadExternalTrainerRegistry(file)).toThrow(ExternalTrainerRegistryError);
    expect(() => loadExternalTrainerRegistry(file)).toThrow(/bad.command: command needs at least the program to run.*other/);
    fs.writeFileSync(file, '{not json');
    expect(() => loadExternalTrainerRegistry(file)).toThrow(/is not valid JSON/);
    fs.writeFileSync(file, JSON.stringify({ 'Bad Name': { command: ['x'] } }));
    expect(() => loadExternalTrainerRegistry(file)).toThrow(/'Bad Name'/);
    expect(() => loadExternalTrainerRegistry(path.join(root, 'missing.json'))).toThrow(/cannot be read/);
  });
});

describe('runExternalTrainer', () => {
  it('accepts a contract model, passes the contract environment, stamps metadata and heartbeats progress', async () => {
    const beats: ExternalHeartbeat[] = [];
    const opts = setup(
      `const spec = JSON.parse(process.env.MLCYCLE_SPEC);
       if (spec.target !== 'y' || spec.features.length !== 2) process.exit(3);
       if (JSON.parse(process.env.MLCYCLE_PARAMS).depth !== 3) process.exit(4);
       if (!fs.readFileSync(process.env.MLCYCLE_TRAIN_PATH, 'utf8').startsWith('x,colour,y')) process.exit(5);
       console.log('MLCYCLE_PROGRESS 0.5 halfway there');
       ${COPY_MODEL}
       fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'metrics.json'), JSON.stringify({ accuracy: 0.9 }));
       setTimeout(() => {}, 300);`,
      { onHeartbeat: (b) => beats.push(b), env: { MODEL_SOURCE: await goodModelFile() } },
    );
    const result = await runExternalTrainer(opts);
    expect(result.classes).toEqual(['down', 'up']);
    expect(result.metrics).toEqual({ accuracy: 0.9 });
    expect(result.warnings).toEqual([]);
    const meta = readMlcycleMetadata(result.onnx);
    expect(meta.trainer).toBe('external:fake');
    expect(meta.task).toBe('binary_classification');
    expect(meta.features).toEqual(FEATURES);
    expect(meta.params).toEqual({ depth: 3 });
    expect(beats.some((b) => b.fraction === 0.5 && b.message === 'halfway there')).toBe(true);
    const { table } = dataset(120);
    const prediction = await runOnnxModel(result.onnx, table, [0, 1, 2], FEATURES);
    expect(prediction.labels).toHaveLength(3);
  });

  it('non-zero exit: the message carries the stderr tail; secrets in the environment are not passed on', async () => {
    process.env.MLCYCLE_TEST_SECRET_KEY = 'hunter2';
    try {
      const error = await failure(setup(`console.error('secret=' + process.env.MLCYCLE_TEST_SECRET_KEY + ' path=' + Boolean(process.env.PATH)); console.error('boom: bad column'); process.exit(7);`));
      expect(error.reason).toBe('exit_code');
      expect(error.message).toMatch(/exited with code 7/);
      expect(error.message).toMatch(/boom: bad column/);
      expect(error.message).toMatch(/secret=undefined path=true/);
    } finally {
      delete process.env.MLCYCLE_TEST_SECRET_KEY;
    }
  });

  it('exit 0 without model.onnx', async () => {
    const error = await failure(setup(`console.log('nothing to see');`));
    expect(error.reason).toBe('no_model');
    expect(error.message).toMatch(/wrote no model.onnx/);
  });

  it('a file onnxruntime cannot load', async () => {
    const error = await failure(setup(`fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'model.onnx'), 'garbage');`));
    expect(error.reason).toBe('invalid_model');
  });

  it('a model whose inputs and outputs break the contract', async () => {
    const g = new GraphBuilder('wrong');
    addFeatureInputs(g, [{ name: 'x', kind: 'numeric' }]);
    emitRegressionHead(g, 'x');
    const file = path.join(root, 'wrong.onnx');
    fs.writeFileSync(file, encodeModel({ producerName: 'test', graph: g.build() }));
    const error = await failure(setup(COPY_MODEL, { env: { MODEL_SOURCE: file } }));
    expect(error.reason).toBe('contract_violation');
    expect(error.problems).toEqual(
      expect.arrayContaining([
        "missing input 'colour' (categorical feature → tensor(string) [N,1])",
        "missing output 'label' (tensor(string) [N])",
        expect.stringMatching(/mlcycle.classes/),
      ]),
    );
  });

  it('a classification model whose class metadata disagrees with its labels', async () => {
    const good = await goodModelFile();
    const { setOnnxMetadata } = await import('../onnx/model');
    const swapped = path.join(root, 'swapped.onnx');
    fs.writeFileSync(swapped, setOnnxMetadata(fs.readFileSync(good), { 'mlcycle.classes': JSON.stringify(['up', 'down']) }));
    const error = await failure(setup(COPY_MODEL, { env: { MODEL_SOURCE: swapped } }));
    expect(error.reason).toBe('contract_violation');
    expect(error.message).toMatch(/not the most probable class/);
  });

  const groupScript = `
    const { spawn } = require('child_process');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'grandchild.pid'), String(child.pid));
    setTimeout(() => {}, 60000);`;

  async function expectGone(pidFile: string): Promise<void> {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`process ${pid} survived`);
  }

  it('timeout kills the whole process group', async () => {
    const opts = setup(groupScript, { timeoutMs: 1000, killGraceMs: 500 });
    const error = await failure(opts);
    expect(error.reason).toBe('timeout');
    await expectGone(path.join(opts.workDir, 'output', 'grandchild.pid'));
  }, 15_000);

  it('abort kills the whole process group', async () => {
    const controller = new AbortController();
    const opts = setup(groupScript, { signal: controller.signal, killGraceMs: 500 });
    const pidFile = path.join(opts.workDir, 'output', 'grandchild.pid');
    const promise = failure(opts);
    for (let i = 0; i < 200 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 25));
    controller.abort();
    const error = await promise;
    expect(error.reason).toBe('aborted');
    await expectGone(pidFile);
  }, 15_000);

  it('a command that does not exist', async () => {
    const error = await failure({ ...setup(''), command: [path.join(root, 'no-such-program')] });
    expect(error.reason).toBe('spawn_failed');
    expect(error.message).toMatch(/check the command in the trainer registry/);
  });
});

const python = spawnSync('python3', ['-c', 'import sklearn, skl2onnx, onnx, pandas'], { encoding: 'utf8' });
const sklearnReason = python.status === 0 ? '' : `python3 cannot import sklearn/skl2onnx/onnx/pandas (${(python.stderr || String(python.error)).trim().split('\n').pop()}); pip install scikit-learn skl2onnx onnx pandas`;
const withSklearn = sklearnReason ? describe.skip : describe;

withSklearn(`examples/trainers/sklearn_trainer.py${sklearnReason ? ` — SKIPPED: ${sklearnReason}` : ''}`, () => {
  const registry = () => loadExternalTrainerRegistry(path.join(__dirname, '../../../examples/trainers/registry.json'));

  it.each(['binary_classification', 'regression'] as const)('trains a %s model that follows the contract', async (task) => {
    const dir = path.join(root, `sklearn-${task}`);
    fs.mkdirSync(dir, { recursive: true });
    const { csv, table } = dataset(300);
    const lines = csv.trim().split('\n');
    const asRegression = (rows: string[]) => rows.map((l, i) => (i === 0 ? 'x,colour,y' : l.replace(/,(up|down)$/, (_, c) => `,${c === 'up' ? 1.5 : -0.5}`)));
    const body = task === 'regression' ? asRegression(lines) : lines;
    fs.writeFileSync(path.join(dir, 'train.csv'), [body[0], ...body.slice(1, 241)].join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'validation.csv'), [body[0], ...body.slice(241)].join('\n') + '\n');
    const result = await runExternalTrainer({
      command: registry().sklearn.command,
      workDir: dir,
      trainPath: path.join(dir, 'train.csv'),
      validationPath: path.join(dir, 'validation.csv'),
      params: task === 'regression' ? { alpha: 0.5 } : { C: 2 },
      spec: { task, target: 'y', features: FEATURES },
      timeoutMs: 120_000,
      trainerName: 'sklearn',
    });
    expect(readMlcycleMetadata(result.onnx).trainer).toBe('external:sklearn');
    const rows = Array.from({ length: 60 }, (_, i) => 240 + i);
    const prediction = await runOnnxModel(result.onnx, table, rows, FEATURES);
    if (task === 'regression') {
      expect(prediction.values).toHaveLength(60);
      expect(typeof result.metrics?.rmse).toBe('number');
    } else {
      expect(result.classes).toEqual(['down', 'up']);
      expect(prediction.probabilities).toHaveLength(120);
      expect(typeof result.metrics?.accuracy).toBe('number');
    }
  }, 120_000);
});
