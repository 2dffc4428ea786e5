/**
 * The linear built-ins: `logistic_regression` (binary logistic or multinomial softmax with an L2 penalty, solved to
 * convergence with L-BFGS) and `ridge` (closed-form ridge regression by Cholesky). Both fit on the design matrix of
 * LinearPreprocessor (imputed, standardized numerics + one-hot categoricals), which the exported graph recomputes.
 */
import type { Prediction, TypedTable } from '../data/types';
import { mlcycleMetadataProps, addFeatureInputs } from '../onnx/contract';
import { emitRegressionHead, emitSoftmaxClassifierHead } from '../onnx/heads';
import { attr, encodeModel, GraphBuilder } from '../onnx/model';
import { checkTrainInput, computeValidationMetrics, encodeTarget, labelsFromProbabilities, resolveParams } from './common';
import { choleskySolve, lbfgs } from './linalg';
import type { NumericImpute } from './preprocessing';
import { LinearPreprocessor } from './preprocessing';
import type { ParamSpec, TrainedModel, Trainer, TrainInput } from './types';
import { TrainerInputError, TrainerParamError } from './types';

export const PRODUCER_NAME = 'mlcycle';

const preprocessingParams: Record<string, ParamSpec> = {
  impute: { type: 'string', default: 'mean', choices: ['mean', 'median'], description: 'how missing numeric values are filled' },
  max_categories: {
    type: 'integer',
    default: 100,
    min: 1,
    max: 10000,
    description: 'most frequent categories one-hot encoded per column; rarer ones are treated as unknown (all zeros)',
  },
};

function buildLinearModel(
  trainer: string,
  input: TrainInput,
  pre: LinearPreprocessor,
  weights: Float32Array,
  bias: Float32Array,
  outputs: number,
  head: (g: GraphBuilder, logits: string) => void,
  params: TrainedModel['params'],
  classes?: string[],
): Uint8Array {
  const g = new GraphBuilder(`mlcycle_${trainer}`);
  addFeatureInputs(g, input.features);
  const X = pre.emit(g);
  const W = g.constant('coef', { type: 'float', dims: [pre.dims, outputs], values: weights });
  const B = g.constant('intercept', { type: 'float', dims: [outputs], values: bias });
  head(g, g.op('Gemm', [X, W, B], [attr.f('alpha', 1), attr.f('beta', 1)]));
  return encodeModel({
    producerName: PRODUCER_NAME,
    producerVersion: trainer,
    graph: g.build(),
    metadata: mlcycleMetadataProps({ task: input.task, classes, features: input.features, trainer, target: input.target, params }),
  });
}

/** X·W + b with the exported float32 parameters (accumulated in double). */
function linearScores(X: Float64Array, n: number, D: number, W: Float32Array, b: Float32Array, K: number): Float64Array {
  const out = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      let s = b[k];
      for (let j = 0; j < D; j++) s += X[i * D + j] * W[j * K + k];
      out[i * K + k] = s;
    }
  }
  return out;
}

function softmaxRows(Z: Float64Array, K: number): Float64Array {
  const P = new Float64Array(Z.length);
  for (let i = 0; i < Z.length; i += K) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, Z[i + k]);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += P[i + k] = Math.exp(Z[i + k] - max);
    for (let k = 0; k < K; k++) P[i + k] /= sum;
  }
  return P;
}

// --- logistic regression -----------------------------------------------------------------------------------------

export const logisticRegressionTrainer: Trainer = {
  name: 'logistic_regression',
  description: 'L2-regularized logistic (binary) or multinomial softmax regression on standardized numerics and one-hot categoricals, solved with L-BFGS',
  tasks: ['binary_classification', 'multiclass_classification'],
  paramSpecs: {
    C: { type: 'number', min: 0, exclusive: true, description: 'inverse regularization strength as in scikit-learn (default 1.0); give C or l2, not both' },
    l2: { type: 'number', min: 0, description: 'L2 penalty λ on the mean log-loss: loss + λ/2·‖w‖² (alternative to C; λ = 1/(C·n))' },
    max_iter: { type: 'integer', default: 500, min: 1, max: 100000, description: 'L-BFGS iteration limit' },
    tol: { type: 'number', default: 1e-6, min: 0, exclusive: true, description: 'stop when the largest gradient component is below this' },
    ...preprocessingParams,
  },
  train(input: TrainInput): TrainedModel {
    checkTrainInput(this, input);
    const params = resolveParams(this.name, this.paramSpecs, input.params);
    if (params.C !== undefined && params.l2 !== undefined) {
      throw new TrainerParamError(this.name, ["give either 'C' or 'l2', not both"]);
    }
    if (params.C === undefined && params.l2 === undefined) params.C = 1;
    const target = encodeTarget(input);
    const classes = target.classes!;
    const n = target.trainRows.length;
    const lambda = params.l2 !== undefined ? (params.l2 as number) : 1 / ((params.C as number) * n);
    input.onProgress?.(0, `preprocessing ${n} rows`);
    const pre = LinearPreprocessor.fit(input.table, target.trainRows, input.features, {
      impute: params.impute as NumericImpute,
      maxCategories: params.max_categories as number,
    });
    const X = pre.transform(input.table, target.trainRows);
    const D = pre.dims;
    const binary = classes.length === 2;
    // Binary: one weight vector (softmax over [0, z] in the graph); multiclass: one column per class.
    const K = binary ? 1 : classes.length;
    const y = target.y;
    const maxIter = params.max_iter as number;
    const Z = new Float64Array(n * K);

    const objective = (theta: Float64Array, grad: Float64Array): number => {
      // theta = [W (D×K, row-major), b (K)]
      grad.fill(0);
      let loss = 0;
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < K; k++) {
          let s = theta[D * K + k];
          for (let j = 0; j < D; j++) s += X[i * D + j] * theta[j * K + k];
          Z[i * K + k] = s;
        }
      }
      for (let i = 0; i < n; i++) {
        if (binary) {
          const z = Z[i];
          // log(1 + e^z) - y z, computed stably
          loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i] * z;
          const r = 1 / (1 + Math.exp(-z)) - y[i];
          for (let j = 0; j < D; j++) grad[j] += r * X[i * D + j];
          grad[D] += r;
        } else {
          let max = -Infinity;
          for (let k = 0; k < K; k++) max = Math.max(max, Z[i * K + k]);
          let sum = 0;
          for (let k = 0; k < K; k++) sum += Math.exp(Z[i * K + k] - max);
          const logSum = max + Math.log(sum);
          loss += logSum - Z[i * K + y[i]];
          for (let k = 0; k < K; k++) {
            const r = Math.exp(Z[i * K + k] - logSum) - (k === y[i] ? 1 : 0);
            if (r === 0) continue;
            for (let j = 0; j < D; j++) grad[j * K + k] += r * X[i * D + j];
            grad[D * K + k] += r;
          }
        }
      }
      let penalty = 0;
      for (let p = 0; p < D * K; p++) {
        penalty += theta[p] * theta[p];
        grad[p] = grad[p] / n + lambda * theta[p];
      }
      for (let k = 0; k < K; k++) grad[D * K + k] /= n;
      return loss / n + (lambda / 2) * penalty;
    };

    const result = lbfgs(objective, new Float64Array((D + 1) * K), {
      maxIter,
      gradTol: params.tol as number,
      onIteration: (iter, f) => input.onProgress?.(Math.min(0.95, iter / maxIter), `L-BFGS iteration ${iter}: loss ${f.toFixed(6)}`),
    });
    if (!Number.isFinite(result.f)) {
      throw new TrainerInputError(`logistic regression diverged (loss ${result.f}); check for extreme feature values or raise regularization (lower C)`);
    }
    const theta = result.x;
    // Exported (float32) parameters, also used by the in-memory predictor so both agree.
    const outK = classes.length;
    const W = new Float32Array(D * outK);
    const b = new Float32Array(outK);
    for (let j = 0; j < D; j++) {
      for (let k = 0; k < outK; k++) W[j * outK + k] = binary ? (k === 1 ? theta[j] : 0) : theta[j * K + k];
    }
    for (let k = 0; k < outK; k++) b[k] = binary ? (k === 1 ? theta[D] : 0) : theta[D * K + k];

    const predict = (table: TypedTable, rows: ArrayLike<number>): Prediction => {
      const Xp = pre.transform(table, rows);
      const probabilities = softmaxRows(linearScores(Xp, rows.length, D, W, b, outK), outK);
      return { labels: labelsFromProbabilities(probabilities, classes), probabilities, classes };
    };
    const onnx = buildLinearModel(this.name, input, pre, W, b, outK, (g, logits) => emitSoftmaxClassifierHead(g, logits, classes), params, classes);
    input.onProgress?.(1, `done after ${result.iterations} L-BFGS iterations (${result.reason})`);
    return {
      onnx,
      classes,
      params,
      predict,
      validationMetrics: computeValidationMetrics(predict(input.table, target.validRows), target.yValid),
      summary: {
        iterations: result.iterations,
        converged: String(result.converged),
        stopReason: result.reason,
        designColumns: D,
        trainRows: n,
        droppedTrainRows: target.droppedTrain,
        finalLoss: result.f,
      },
    };
  },
};

// --- ridge ---------------------------------------------------------------------------------------------------------

export const ridgeTrainer: Trainer = {
  name: 'ridge',
  description: 'ridge linear regression, closed form (Cholesky) on standardized numerics and one-hot categoricals',
  tasks: ['regression'],
  paramSpecs: {
    alpha: { type: 'number', default: 1.0, min: 0, description: 'L2 penalty on the sum of squared errors: ‖y − Xw − b‖² + α‖w‖² (as scikit-learn Ridge)' },
    ...preprocessingParams,
  },
  train(input: TrainInput): TrainedModel {
    checkTrainInput(this, input);
    const params = resolveParams(this.name, this.paramSpecs, input.params);
    const target = encodeTarget(input);
    const n = target.trainRows.length;
    input.onProgress?.(0, `preprocessing ${n} rows`);
    const pre = LinearPreprocessor.fit(input.table, target.trainRows, input.features, {
      impute: params.impute as NumericImpute,
      maxCategories: params.max_categories as number,
    });
    const X = pre.transform(input.table, target.trainRows);
    const D = pre.dims;
    const y = target.y;
    // Center X and y so the intercept is not penalized, then solve (XcᵀXc + αI) w = Xcᵀyc.
    const xMean = new Float64Array(D);
    let yMean = 0;
    for (let i = 0; i < n; i++) {
      yMean += y[i] / n;
      for (let j = 0; j < D; j++) xMean[j] += X[i * D + j] / n;
    }
    const A = new Float64Array(D * D);
    const rhs = new Float64Array(D);
    const row = new Float64Array(D);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < D; j++) row[j] = X[i * D + j] - xMean[j];
      const yc = y[i] - yMean;
      for (let j = 0; j < D; j++) {
        const v = row[j];
        if (v === 0) continue;
        rhs[j] += v * yc;
        for (let k = 0; k <= j; k++) A[j * D + k] += v * row[k];
      }
      if (i % 10000 === 0) input.onProgress?.(0.9 * (i / n), `accumulating normal equations: ${i}/${n} rows`);
    }
    const alpha = params.alpha as number;
    for (let j = 0; j < D; j++) {
      for (let k = 0; k < j; k++) A[k * D + j] = A[j * D + k];
      A[j * D + j] += alpha;
    }
    let w = choleskySolve(A, rhs, D);
    if (!w && alpha === 0) {
      // Collinear columns (e.g. one-hot of a column that is never missing plus a constant) with no penalty.
      for (let j = 0; j < D; j++) A[j * D + j] += 1e-8 * Math.max(1, A[j * D + j]);
      w = choleskySolve(A, rhs, D);
    }
    if (!w) throw new TrainerInputError(`ridge: the normal equations are singular; raise 'alpha' above ${alpha}`);
    let intercept = yMean;
    for (let j = 0; j < D; j++) intercept -= xMean[j] * w[j];
    const W = Float32Array.from(w);
    const b = Float32Array.of(intercept);

    const predict = (table: TypedTable, rows: ArrayLike<number>): Prediction => ({
      values: linearScores(pre.transform(table, rows), rows.length, D, W, b, 1),
    });
    const onnx = buildLinearModel(this.name, input, pre, W, b, 1, (g, value) => emitRegressionHead(g, value), params);
    input.onProgress?.(1, 'done');
    return {
      onnx,
      params,
      predict,
      validationMetrics: computeValidationMetrics(predict(input.table, target.validRows), target.yValid),
      summary: { designColumns: D, trainRows: n, droppedTrainRows: target.droppedTrain },
    };
  },
};
