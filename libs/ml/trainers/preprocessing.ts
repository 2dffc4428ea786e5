/**
 * Preprocessing for the linear trainers, fitted on the training rows and emitted INTO the ONNX graph so serving
 * feeds raw columns: numeric → impute (mean/median) → standardize; categorical → one-hot (missing is a category
 * of its own when training saw it; unknown categories → all zeros) → concatenated design matrix.
 *
 * transform() reproduces the graph's float32 arithmetic step by step (Math.fround after each op), so the design
 * matrix the trainer fits on is bit-identical to what onnxruntime computes at serving time.
 */
import type { FeatureColumn, TypedTable } from '../data/types';
import type { GraphBuilder } from '../onnx/model';
import { attr, ML_DOMAIN } from '../onnx/model';
import { categoricalFeature, numericFeature } from '../onnx/contract';

export type NumericImpute = 'mean' | 'median';

export interface NumericStep {
  name: string;
  /** float32 value that replaces NaN */
  fill: number;
  /** float32 */
  mean: number;
  /** float32, 1/std; 0 for a constant column (which then contributes nothing) */
  scale: number;
}

export interface CategoricalStep {
  name: string;
  /** one indicator column each, in this order; '' is the missing category */
  categories: string[];
}

export interface PreprocessorOptions {
  impute: NumericImpute;
  /** most frequent categories kept per column; rarer ones are treated as unknown (all zeros) */
  maxCategories: number;
}

const f32 = Math.fround;

function median(sorted: Float64Array): number {
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

export class LinearPreprocessor {
  private constructor(
    readonly numeric: NumericStep[],
    readonly categorical: CategoricalStep[],
  ) {}

  /** Width of the design matrix. */
  get dims(): number {
    return this.numeric.length + this.categorical.reduce((s, c) => s + c.categories.length, 0);
  }

  /** Human-readable design-matrix column names (for coefficients in logs and tests). */
  columnNames(): string[] {
    return [
      ...this.numeric.map((n) => n.name),
      ...this.categorical.flatMap((c) => c.categories.map((v) => `${c.name}=${v === '' ? '<missing>' : v}`)),
    ];
  }

  static fit(table: TypedTable, rows: Uint32Array, features: FeatureColumn[], opts: PreprocessorOptions): LinearPreprocessor {
    const numeric: NumericStep[] = [];
    const categorical: CategoricalStep[] = [];
    for (const f of features) {
      if (f.kind === 'numeric') {
        const values = numericFeature(table, f.name, rows);
        const present = values.filter((v) => !Number.isNaN(v));
        let sum = 0;
        for (const v of present) sum += v;
        const mean = present.length > 0 ? sum / present.length : 0;
        let ss = 0;
        for (const v of present) ss += (v - mean) ** 2;
        const std = present.length > 0 ? Math.sqrt(ss / present.length) : 0;
        const fill = opts.impute === 'median' && present.length > 0 ? median(Float64Array.from(present).sort()) : mean;
        // The data are imputed before scaling, so statistics are those of the observed values (as sklearn's
        // SimpleImputer → StandardScaler would see after imputing the mean: same mean, slightly smaller std).
        numeric.push({ name: f.name, fill: f32(fill), mean: f32(mean), scale: std > 1e-12 * Math.max(1, Math.abs(mean)) ? f32(1 / std) : 0 });
      } else {
        const values = categoricalFeature(table, f.name, rows);
        const counts = new Map<string, number>();
        for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
        const categories = [...counts.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
          .slice(0, opts.maxCategories)
          .map(([c]) => c);
        categorical.push({ name: f.name, categories });
      }
    }
    return new LinearPreprocessor(numeric, categorical);
  }

  /** Row-major design matrix [rows × dims], float32-exact as the ONNX graph computes it. */
  transform(table: TypedTable, rows: ArrayLike<number>): Float64Array {
    const n = rows.length;
    const D = this.dims;
    const X = new Float64Array(n * D);
    this.numeric.forEach((step, j) => {
      const values = numericFeature(table, step.name, rows);
      for (let i = 0; i < n; i++) {
        const v = Number.isNaN(values[i]) ? step.fill : values[i];
        X[i * D + j] = f32(f32(v - step.mean) * step.scale);
      }
    });
    let offset = this.numeric.length;
    for (const step of this.categorical) {
      const values = categoricalFeature(table, step.name, rows);
      const index = new Map(step.categories.map((c, k) => [c, k]));
      for (let i = 0; i < n; i++) {
        const k = index.get(values[i]);
        if (k !== undefined) X[i * D + offset + k] = 1;
      }
      offset += step.categories.length;
    }
    return X;
  }

  /**
   * Emits the preprocessing into the graph (inputs must already be declared, named as the columns) and returns
   * the name of the [N, dims] float design matrix.
   */
  emit(g: GraphBuilder): string {
    const parts: string[] = [];
    const dn = this.numeric.length;
    if (dn > 0) {
      const x = dn === 1 ? this.numeric[0].name : g.op('Concat', this.numeric.map((s) => s.name), [attr.i('axis', 1)]);
      const row = (values: number[], hint: string) => g.constant(hint, { type: 'float', dims: [1, dn], values });
      const isMissing = g.op('IsNaN', [x]);
      const imputed = g.op('Where', [isMissing, row(this.numeric.map((s) => s.fill), 'impute_fill'), x]);
      const centered = g.op('Sub', [imputed, row(this.numeric.map((s) => s.mean), 'scale_mean')]);
      parts.push(g.op('Mul', [centered, row(this.numeric.map((s) => s.scale), 'scale_inv_std')]));
    }
    for (const step of this.categorical) {
      if (step.categories.length === 0) continue;
      // OneHotEncoder appends a dimension: [N,1] → [N,1,K]; zeros=1 maps unknown categories to all zeros.
      const onehot = g.op('OneHotEncoder', [step.name], [attr.strings('cats_strings', step.categories), attr.i('zeros', 1)], ML_DOMAIN);
      const axes = g.constant('squeeze_axes', { type: 'int64', dims: [1], values: [1] });
      parts.push(g.op('Squeeze', [onehot, axes]));
    }
    return parts.length === 1 ? parts[0] : g.op('Concat', parts, [attr.i('axis', 1)]);
  }
}
