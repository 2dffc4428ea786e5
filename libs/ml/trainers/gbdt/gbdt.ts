/**
 * `gbdt`: histogram gradient-boosted decision trees (the LightGBM / scikit-learn HistGradientBoosting family).
 * Log-loss for binary, softmax with one tree per class per iteration for multiclass, squared error for regression;
 * optional early stopping on the validation rows. Exported as ai.onnx.ml TreeEnsembleClassifier/Regressor with
 * double-precision thresholds, leaf weights and base values (the concatenated float features are Cast to double
 * first, which is what makes onnxruntime accumulate in double), so ONNX and in-memory predictions agree to ~1e-7.
 */
import type { Prediction, TypedTable } from '../../data/types';
import { addFeatureInputs, categoricalFeature, mlcycleMetadataProps, numericFeature, OUTPUT_LABEL, OUTPUT_PROBABILITIES, OUTPUT_VARIABLE } from '../../onnx/contract';
import type { Attribute } from '../../onnx/model';
import { attr, encodeModel, GraphBuilder, ML_DOMAIN, TensorDataType } from '../../onnx/model';
import { checkTrainInput, computeValidationMetrics, encodeTarget, labelsFromProbabilities, makeRng, resolveParams } from '../common';
import { PRODUCER_NAME } from '../linear';
import type { TrainedModel, Trainer, TrainInput } from '../types';
import { TrainingAbortedError } from '../types';
import type { Binner } from './binning';
import { FeatureBinning, MAX_BINS, MAX_CATEGORIES } from './binning';
import type { Tree } from './tree';
import { predictBinned, TreeGrower } from './tree';

/** Rows used to find numeric bin edges (sampled with the seed beyond this, as LightGBM's bin_construct_sample_cnt). */
const BINNING_SAMPLE = 200_000;

export interface GbdtModel {
  binners: Binner[];
  /** trees[iteration][class] (one tree per iteration for binary and regression) */
  trees: Tree[][];
  /** initial raw score per output */
  baseScores: number[];
  kind: 'binary' | 'multiclass' | 'regression';
  classes?: string[];
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function softmaxInPlace(z: Float64Array, offset: number, K: number): void {
  let max = -Infinity;
  for (let k = 0; k < K; k++) max = Math.max(max, z[offset + k]);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += z[offset + k] = Math.exp(z[offset + k] - max);
  for (let k = 0; k < K; k++) z[offset + k] /= sum;
}

/** Raw scores [rows × outputs] by walking the trees on raw (float32) feature values, as onnxruntime does. */
export function rawScores(model: GbdtModel, table: TypedTable, rows: ArrayLike<number>): Float64Array {
  const n = rows.length;
  const K = model.baseScores.length;
  const columns = model.binners.map((b) => {
    if (b.kind === 'numeric') return numericFeature(table, b.name, rows);
    const index = new Map(b.categories.map((c, k) => [c, k]));
    return Float32Array.from(categoricalFeature(table, b.name, rows), (v) => index.get(v) ?? -1);
  });
  const out = new Float64Array(n * K);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) out[i * K + k] = model.baseScores[k];
  for (const iteration of model.trees) {
    for (let k = 0; k < iteration.length; k++) {
      const t = iteration[k];
      for (let i = 0; i < n; i++) {
        let node = 0;
        while (t.feature[node] >= 0) {
          const x = columns[t.feature[node]][i];
          const left = t.categorical[node] ? x === t.threshold[node] : Number.isNaN(x) ? t.missingLeft[node] : x <= t.threshold[node];
          node = left ? t.left[node] : t.right[node];
        }
        out[i * K + k] += t.value[node];
      }
    }
  }
  return out;
}

export function predictGbdt(model: GbdtModel, table: TypedTable, rows: ArrayLike<number>): Prediction {
  const raw = rawScores(model, table, rows);
  if (model.kind === 'regression') return { values: raw };
  const classes = model.classes!;
  const C = classes.length;
  const n = rows.length;
  const probabilities = new Float64Array(n * C);
  if (model.kind === 'binary') {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(raw[i]);
      probabilities[i * 2] = 1 - p;
      probabilities[i * 2 + 1] = p;
    }
  } else {
    probabilities.set(raw);
    for (let i = 0; i < n; i++) softmaxInPlace(probabilities, i * C, C);
  }
  return { labels: labelsFromProbabilities(probabilities, classes), probabilities, classes };
}

/** Builds the ONNX graph: per-column inputs → (LabelEncoder for categoricals) → Concat → Cast(double) → TreeEnsemble. */
export function exportGbdt(model: GbdtModel, input: Pick<TrainInput, 'features' | 'task' | 'target'>, trainer: string, params: TrainedModel['params']): Uint8Array {
  const g = new GraphBuilder(`mlcycle_${trainer}`);
  addFeatureInputs(g, input.features);
  const columns = model.binners.map((b) =>
    b.kind === 'numeric'
      ? b.name
      : g.op(
          'LabelEncoder',
          [b.name],
          [attr.strings('keys_strings', b.categories), attr.floats('values_floats', b.categories.map((_, k) => k)), attr.f('default_float', -1)],
          ML_DOMAIN,
        ),
  );
  const X = columns.length === 1 ? columns[0] : g.op('Concat', columns, [attr.i('axis', 1)]);
  const X64 = g.op('Cast', [X], [attr.i('to', TensorDataType.double)]);

  const trees = model.trees.length > 0 ? model.trees : [[]];
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const leafTree: number[] = [];
  const leafNode: number[] = [];
  const leafTarget: number[] = [];
  const leafWeight: number[] = [];
  let treeId = 0;
  const emitTree = (t: Tree | undefined, target: number) => {
    const size = t ? t.feature.length : 1;
    for (let node = 0; node < size; node++) {
      treeIds.push(treeId);
      nodeIds.push(node);
      const isLeaf = !t || t.feature[node] < 0;
      featureIds.push(isLeaf ? 0 : t.feature[node]);
      modes.push(isLeaf ? 'LEAF' : t.categorical[node] ? 'BRANCH_EQ' : 'BRANCH_LEQ');
      values.push(isLeaf ? 0 : t.threshold[node]);
      trueIds.push(isLeaf ? 0 : t.left[node]);
      falseIds.push(isLeaf ? 0 : t.right[node]);
      missingTrue.push(!isLeaf && !t.categorical[node] && t.missingLeft[node] ? 1 : 0);
      if (isLeaf) {
        leafTree.push(treeId);
        leafNode.push(node);
        // Binary classification uses class id 0 for every leaf: onnxruntime then reads the single score as the
        // positive class's logit and returns [1-p, p].
        leafTarget.push(model.kind === 'binary' ? 0 : target);
        leafWeight.push(t ? t.value[node] : 0);
      }
    }
    treeId++;
  };
  for (const iteration of trees) {
    if (iteration.length === 0) emitTree(undefined, 0);
    iteration.forEach((t, k) => emitTree(t, k));
  }
  const doubles = (name: string, v: number[]): Attribute => attr.t(name, { type: 'double', dims: [v.length], values: v });
  const nodeAttrs: Attribute[] = [
    attr.ints('nodes_treeids', treeIds),
    attr.ints('nodes_nodeids', nodeIds),
    attr.ints('nodes_featureids', featureIds),
    attr.strings('nodes_modes', modes),
    doubles('nodes_values_as_tensor', values),
    attr.ints('nodes_truenodeids', trueIds),
    attr.ints('nodes_falsenodeids', falseIds),
    attr.ints('nodes_missing_value_tracks_true', missingTrue),
    doubles('base_values_as_tensor', model.baseScores),
  ];
  if (model.kind === 'regression') {
    g.reserve(OUTPUT_VARIABLE);
    g.node(
      'TreeEnsembleRegressor',
      [X64],
      [OUTPUT_VARIABLE],
      [
        ...nodeAttrs,
        attr.ints('target_treeids', leafTree),
        attr.ints('target_nodeids', leafNode),
        attr.ints('target_ids', leafTarget),
        doubles('target_weights_as_tensor', leafWeight),
        attr.i('n_targets', 1),
        attr.s('aggregate_function', 'SUM'),
        attr.s('post_transform', 'NONE'),
      ],
      ML_DOMAIN,
    );
    g.output(OUTPUT_VARIABLE, 'float', ['N', 1]);
  } else {
    const classes = model.classes!;
    g.reserve(OUTPUT_LABEL);
    g.reserve(OUTPUT_PROBABILITIES);
    g.node(
      'TreeEnsembleClassifier',
      [X64],
      [OUTPUT_LABEL, OUTPUT_PROBABILITIES],
      [
        ...nodeAttrs,
        attr.ints('class_treeids', leafTree),
        attr.ints('class_nodeids', leafNode),
        attr.ints('class_ids', leafTarget),
        doubles('class_weights_as_tensor', leafWeight),
        attr.strings('classlabels_strings', classes),
        attr.s('post_transform', model.kind === 'binary' ? 'LOGISTIC' : 'SOFTMAX'),
      ],
      ML_DOMAIN,
    );
    g.output(OUTPUT_LABEL, 'string', ['N']);
    g.output(OUTPUT_PROBABILITIES, 'float', ['N', classes.length]);
  }
  return encodeModel({
    producerName: PRODUCER_NAME,
    producerVersion: trainer,
    graph: g.build(),
    metadata: mlcycleMetadataProps({ task: input.task, classes: model.classes, features: input.features, trainer, target: input.target, params }),
  });
}

function sampleRows(rows: Uint32Array, max: number, seed: number): Uint32Array {
  if (rows.length <= max) return rows;
  // partial Fisher-Yates on a copy, then sorted so the sample does not depend on row order beyond the seed
  const copy = Uint32Array.from(rows);
  const rng = makeRng(seed);
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(rng() * (copy.length - i));
    const t = copy[i];
    copy[i] = copy[j];
    copy[j] = t;
  }
  return copy.slice(0, max).sort();
}

export const gbdtTrainer: Trainer = {
  name: 'gbdt',
  description:
    'histogram gradient-boosted trees (leaf-wise, ≤255 quantile bins, learned missing-value directions, one-vs-rest categorical splits); exported as ONNX TreeEnsemble',
  tasks: ['binary_classification', 'multiclass_classification', 'regression'],
  paramSpecs: {
    max_iter: { type: 'integer', default: 100, min: 1, max: 100000, description: 'boosting iterations (trees per class)' },
    learning_rate: { type: 'number', default: 0.1, min: 0, max: 10, exclusive: true, description: 'shrinkage applied to every leaf value' },
    max_leaf_nodes: { type: 'integer', default: 31, min: 2, max: 4096, description: 'leaves per tree (leaf-wise growth)' },
    max_depth: { type: 'integer', default: 0, min: 0, max: 64, description: 'depth limit per tree; 0 = no limit' },
    min_samples_leaf: { type: 'integer', default: 20, min: 1, description: 'fewest training rows in a leaf' },
    min_child_weight: { type: 'number', default: 1e-3, min: 0, description: 'smallest hessian sum in a leaf' },
    l2_regularization: { type: 'number', default: 0, min: 0, description: 'L2 penalty λ on leaf values: value = -G/(H+λ)' },
    min_gain_to_split: { type: 'number', default: 0, min: 0, description: 'smallest loss reduction that makes a split' },
    max_bins: { type: 'integer', default: MAX_BINS, min: 2, max: MAX_BINS, description: 'bins per numeric feature (missing values get their own)' },
    max_categories: { type: 'integer', default: MAX_CATEGORIES, min: 1, max: MAX_CATEGORIES, description: 'most frequent categories per categorical feature; rarer ones share an "other" branch' },
    early_stopping: { type: 'boolean', default: true, description: 'stop when the validation loss has not improved for n_iter_no_change iterations (needs validation rows)' },
    n_iter_no_change: { type: 'integer', default: 10, min: 1, description: 'patience of early stopping' },
    validation_tol: { type: 'number', default: 1e-7, min: 0, description: 'an improvement smaller than this does not count' },
  },
  train(input: TrainInput): TrainedModel {
    checkTrainInput(this, input);
    const params = resolveParams(this.name, this.paramSpecs, input.params);
    const target = encodeTarget(input);
    const { table, features } = input;
    const n = target.trainRows.length;
    const nValid = target.validRows.length;
    const kind: GbdtModel['kind'] = input.task === 'regression' ? 'regression' : target.classes!.length === 2 ? 'binary' : 'multiclass';
    const K = kind === 'multiclass' ? target.classes!.length : 1;
    const maxIter = params.max_iter as number;
    const lr = params.learning_rate as number;

    input.onProgress?.(0, `binning ${features.length} features over ${n} rows`);
    const binning = FeatureBinning.fit(table, target.trainRows, features, {
      maxBins: params.max_bins as number,
      maxCategories: params.max_categories as number,
      sampleRows: sampleRows(target.trainRows, BINNING_SAMPLE, input.seed),
    });
    const train = binning.transform(table, target.trainRows);
    const valid = binning.transform(table, target.validRows);
    const F = features.length;

    const y = target.y;
    const baseScores = new Array<number>(K).fill(0);
    if (kind === 'regression') {
      baseScores[0] = y.reduce((a, b) => a + b, 0) / n;
    } else if (kind === 'binary') {
      const pos = y.reduce((a, b) => a + b, 0);
      const p = Math.min(Math.max(pos / n, 1e-12), 1 - 1e-12);
      baseScores[0] = Math.log(p / (1 - p));
    } else {
      const counts = new Array<number>(K).fill(0);
      for (const c of y) counts[c]++;
      for (let k = 0; k < K; k++) baseScores[k] = Math.log(Math.max(counts[k], 1e-12) / n);
    }
    const raw = new Float64Array(n * K);
    const rawValid = new Float64Array(nValid * K);
    for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) raw[i * K + k] = baseScores[k];
    for (let i = 0; i < nValid; i++) for (let k = 0; k < K; k++) rawValid[i * K + k] = baseScores[k];

    const grower = new TreeGrower(train.bins, binning.binners, n, {
      maxLeafNodes: params.max_leaf_nodes as number,
      maxDepth: params.max_depth as number,
      minSamplesLeaf: params.min_samples_leaf as number,
      minChildWeight: params.min_child_weight as number,
      l2: params.l2_regularization as number,
      minGainToSplit: params.min_gain_to_split as number,
    });
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const grads = Array.from({ length: K }, () => new Float64Array(n));
    const hess = Array.from({ length: K }, () => new Float64Array(n));
    const prob = new Float64Array(K);

    const validLoss = (): number => {
      let loss = 0;
      for (let i = 0; i < nValid; i++) {
        const yi = target.yValid[i];
        if (kind === 'regression') loss += (rawValid[i] - yi) ** 2;
        else if (kind === 'binary') {
          const z = rawValid[i];
          loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - yi * z;
        } else {
          let max = -Infinity;
          for (let k = 0; k < K; k++) max = Math.max(max, rawValid[i * K + k]);
          let sum = 0;
          for (let k = 0; k < K; k++) sum += Math.exp(rawValid[i * K + k] - max);
          loss += max + Math.log(sum) - rawValid[i * K + yi];
        }
      }
      return loss / nValid;
    };

    const earlyStopping = (params.early_stopping as boolean) && nValid > 0;
    const patience = params.n_iter_no_change as number;
    const tol = params.validation_tol as number;
    const trees: Tree[][] = [];
    let bestLoss = Infinity;
    let bestIteration = -1;
    let stopReason = `reached max_iter=${maxIter}`;

    for (let it = 0; it < maxIter; it++) {
      if (input.signal?.aborted) throw new TrainingAbortedError();
      // gradients and hessians of the loss at the current raw scores
      for (let i = 0; i < n; i++) {
        const yi = y[i];
        if (kind === 'regression') {
          grads[0][i] = raw[i] - yi;
          hess[0][i] = 1;
        } else if (kind === 'binary') {
          const p = sigmoid(raw[i]);
          grads[0][i] = p - yi;
          hess[0][i] = Math.max(p * (1 - p), 1e-16);
        } else {
          for (let k = 0; k < K; k++) prob[k] = raw[i * K + k];
          softmaxInPlace(prob, 0, K);
          for (let k = 0; k < K; k++) {
            grads[k][i] = prob[k] - (k === yi ? 1 : 0);
            hess[k][i] = Math.max(prob[k] * (1 - prob[k]), 1e-16);
          }
        }
      }
      const iteration: Tree[] = [];
      let grew = false;
      for (let k = 0; k < K; k++) {
        const tree = grower.grow(order, grads[k], hess[k], lr, (value, start, end) => {
          for (let p = start; p < end; p++) raw[order[p] * K + k] += value;
        });
        if (tree.feature.length > 1) grew = true;
        for (let i = 0; i < nValid; i++) rawValid[i * K + k] += predictBinned(tree, valid.bins, i * F);
        iteration.push(tree);
      }
      if (!grew) {
        stopReason = `no split improves the loss after ${it} iterations`;
        break;
      }
      trees.push(iteration);
      let message = `iteration ${it + 1}/${maxIter}`;
      if (nValid > 0) {
        const loss = validLoss();
        message += `: validation loss ${loss.toFixed(6)}`;
        if (loss < bestLoss - tol) {
          bestLoss = loss;
          bestIteration = it;
        } else if (earlyStopping && it - bestIteration >= patience) {
          stopReason = `early stopping: no validation improvement in ${patience} iterations (best at iteration ${bestIteration + 1})`;
          break;
        }
      }
      input.onProgress?.(Math.min(0.99, (it + 1) / maxIter), message);
    }
    if (earlyStopping && bestIteration >= 0) trees.length = bestIteration + 1;

    const model: GbdtModel = { binners: binning.binners, trees, baseScores, kind, classes: target.classes };
    const predict = (t: TypedTable, rows: ArrayLike<number>): Prediction => predictGbdt(model, t, rows);
    const onnx = exportGbdt(model, input, this.name, params);
    input.onProgress?.(1, `done: ${trees.length} iterations (${stopReason})`);
    return {
      onnx,
      classes: target.classes,
      params,
      predict,
      validationMetrics: computeValidationMetrics(predict(table, target.validRows), target.yValid),
      summary: {
        iterations: trees.length,
        trees: trees.length * K,
        leaves: trees.reduce((s, it) => s + it.reduce((a, t) => a + t.feature.filter((f) => f < 0).length, 0), 0),
        stopReason,
        trainRows: n,
        droppedTrainRows: target.droppedTrain,
        features: F,
      },
    };
  },
};
