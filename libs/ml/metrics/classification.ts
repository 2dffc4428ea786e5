/**
 * Classification metrics, computed as scikit-learn 1.9 computes them (checked against it to 1e-9 by the fixtures
 * in __fixtures__/sklearn-metrics.json, made by scripts/fixtures/metrics_fixtures.py):
 *
 * - accuracy: accuracy_score.
 * - balanced_accuracy: balanced_accuracy_score: mean recall over the classes present in y_true.
 * - precision_macro / recall_macro / f1_macro: precision_recall_fscore_support(labels=classes, average='macro',
 *   zero_division=0): every class in `classes` counts, a 0/0 ratio counts as 0; F1 = 2·TP / (2·TP + FP + FN).
 * - roc_auc: binary: roc_auc_score(y_true == classes[1], p[:, 1]); multiclass: roc_auc_score(multi_class='ovr',
 *   average='macro', labels=classes), the unweighted mean of one-vs-rest AUCs. Tied scores count half, as the
 *   trapezoid under sklearn's ROC curve does. NaN when a class of `classes` is absent from y_true (or, binary,
 *   when only one class is present), as sklearn (which also warns).
 * - log_loss: log_loss(labels=classes): probabilities clipped to [ε, 1 − ε] with ε = 2^-52 (float64 machine
 *   epsilon; sklearn ≥ 1.5 uses the dtype's eps and no longer renormalises rows), mean of −ln p(true class).
 * - confusion_matrix: confusion_matrix(labels=classes): rows are true classes, columns predicted, in `classes`
 *   order.
 */
import type { CLASSIFICATION_METRICS } from '../spec';

export type ClassificationMetricName = (typeof CLASSIFICATION_METRICS)[number];

export type ClassificationMetrics = Record<ClassificationMetricName, number> & {
  /** counts, [true class][predicted class], in `classes` order */
  confusion_matrix: number[][];
};

const LOG_LOSS_EPS = Number.EPSILON;

/**
 * @param yTrue true labels, one per row
 * @param yPred predicted labels, one per row
 * @param probabilities row-major [rows x classes], column order = `classes`
 * @param classes the model's classes, in its probability column order
 */
export function classificationMetrics(
  yTrue: readonly string[],
  yPred: readonly string[],
  probabilities: Float64Array,
  classes: readonly string[],
): ClassificationMetrics {
  const n = yTrue.length;
  const k = classes.length;
  if (n === 0) throw new RangeError('classification metrics need at least one row');
  if (yPred.length !== n) throw new RangeError(`yTrue has ${n} rows but yPred has ${yPred.length}`);
  if (k < 2) throw new RangeError(`classification metrics need at least 2 classes, got ${k}`);
  if (probabilities.length !== n * k) {
    throw new RangeError(`probabilities has ${probabilities.length} values; expected rows x classes = ${n} x ${k} = ${n * k}`);
  }
  for (let i = 0; i < probabilities.length; i++) {
    if (!Number.isFinite(probabilities[i])) {
      throw new RangeError(`probabilities has a non-finite value (${probabilities[i]}) at row ${Math.floor(i / k)}, class '${classes[i % k]}'`);
    }
  }
  const index = classIndex(classes);
  const trueIdx = toIndices(yTrue, index, 'yTrue');
  const predIdx = toIndices(yPred, index, 'yPred');

  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    confusion[trueIdx[i]][predIdx[i]]++;
    if (trueIdx[i] === predIdx[i]) correct++;
  }

  let precisionSum = 0;
  let recallSum = 0;
  let f1Sum = 0;
  let presentRecallSum = 0;
  let presentClasses = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c][c];
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += confusion[c][j];
      predicted += confusion[j][c];
    }
    const fp = predicted - tp;
    const fn = support - tp;
    const recall = support === 0 ? 0 : tp / support;
    precisionSum += predicted === 0 ? 0 : tp / predicted;
    recallSum += recall;
    f1Sum += 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    if (support > 0) {
      presentRecallSum += recall;
      presentClasses++;
    }
  }

  return {
    accuracy: correct / n,
    balanced_accuracy: presentRecallSum / presentClasses,
    precision_macro: precisionSum / k,
    recall_macro: recallSum / k,
    f1_macro: f1Sum / k,
    roc_auc: rocAuc(trueIdx, probabilities, k),
    log_loss: logLoss(trueIdx, probabilities, k),
    confusion_matrix: confusion,
  };
}

function rocAuc(trueIdx: Uint32Array, probabilities: Float64Array, k: number): number {
  const n = trueIdx.length;
  const scores = new Float64Array(n);
  const positive = new Uint8Array(n);
  const columns = k === 2 ? [1] : Array.from({ length: k }, (_, c) => c);
  let sum = 0;
  for (const c of columns) {
    for (let i = 0; i < n; i++) {
      scores[i] = probabilities[i * k + c];
      positive[i] = trueIdx[i] === c ? 1 : 0;
    }
    sum += binaryRocAuc(positive, scores);
  }
  return sum / columns.length;
}

/**
 * Area under the ROC curve for 0/1 labels: the probability that a random positive scores above a random negative,
 * ties counting half. NaN when either class is absent.
 */
export function binaryRocAuc(positive: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = positive.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += positive[i] ? 1 : 0;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  // Walk groups of equal score from the top; each negative beats nobody and loses to every positive above it,
  // ties with positives in its own group count half. Kept as twice the count so it stays an exact integer.
  let positivesAbove = 0;
  let twiceArea = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    let groupPositives = 0;
    while (end < n && scores[order[end]] === scores[order[start]]) {
      groupPositives += positive[order[end]] ? 1 : 0;
      end++;
    }
    const groupNegatives = end - start - groupPositives;
    twiceArea += groupNegatives * (2 * positivesAbove + groupPositives);
    positivesAbove += groupPositives;
    start = end;
  }
  return twiceArea / (2 * positives * negatives);
}

function logLoss(trueIdx: Uint32Array, probabilities: Float64Array, k: number): number {
  let total = 0;
  for (let i = 0; i < trueIdx.length; i++) {
    const p = Math.min(Math.max(probabilities[i * k + trueIdx[i]], LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    total -= Math.log(p);
  }
  return total / trueIdx.length;
}

function classIndex(classes: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  classes.forEach((c, i) => {
    if (index.has(c)) throw new RangeError(`classes lists '${c}' twice`);
    index.set(c, i);
  });
  return index;
}

function toIndices(labels: readonly string[], index: Map<string, number>, what: string): Uint32Array {
  const out = new Uint32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const c = index.get(labels[i]);
    if (c === undefined) {
      throw new RangeError(
        `${what}[${i}] is '${labels[i]}', which is not one of the model's classes (${[...index.keys()].map((k) => `'${k}'`).join(', ')})`,
      );
    }
    out[i] = c;
  }
  return out;
}
