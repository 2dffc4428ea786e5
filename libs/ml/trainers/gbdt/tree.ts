/**
 * Growing one regression tree on gradients/hessians over binned features, LightGBM style: per-leaf
 * gradient/hessian/count histograms, the smaller child's histogram built from its rows and the larger one's by
 * subtraction from the parent, best-first (leaf-wise) growth up to max_leaf_nodes with optional max_depth.
 *
 * Numeric splits are `bin <= b` and learn where missing values go (tried on both sides; when a node saw no missing
 * values they follow the larger child). Categorical splits are one-vs-rest (`code == c`), the same rule LightGBM uses
 * for low-cardinality categoricals; rare and unseen categories always take the "rest" branch.
 */
import type { Binner } from './binning';
import { MISSING_BIN } from './binning';

export interface TreeParams {
  maxLeafNodes: number;
  /** 0 = unlimited */
  maxDepth: number;
  minSamplesLeaf: number;
  minChildWeight: number;
  l2: number;
  minGainToSplit: number;
}

/** Flat tree; node 0 is the root, ids are creation order (ONNX wants 0..n-1 per tree). */
export interface Tree {
  /** -1 for a leaf */
  feature: number[];
  /** numeric: split bin (left = bin <= splitBin); categorical: category code (left = code == splitBin) */
  splitBin: number[];
  /** numeric: float32 threshold (left = x <= threshold), Infinity for "every present value left" */
  threshold: number[];
  categorical: boolean[];
  missingLeft: boolean[];
  left: number[];
  right: number[];
  /** leaf output, learning rate applied */
  value: number[];
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  categorical: boolean;
  gl: number;
  hl: number;
  nl: number;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  n: number;
  hist: Float64Array | null;
  split: Split | null;
}

const SLOTS = 256;

export class TreeGrower {
  private readonly F: number;
  private readonly pool: Float64Array[] = [];
  private readonly scratch: Uint32Array;

  constructor(
    private readonly bins: Uint8Array,
    private readonly binners: Binner[],
    private readonly nRows: number,
    private readonly params: TreeParams,
  ) {
    this.F = binners.length;
    this.scratch = new Uint32Array(nRows);
  }

  private allocHist(): Float64Array {
    const h = this.pool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(this.F * SLOTS * 3);
  }

  private release(h: Float64Array | null): void {
    if (h) this.pool.push(h);
  }

  private buildHist(order: Uint32Array, start: number, end: number, g: Float64Array, h: Float64Array): Float64Array {
    const hist = this.allocHist();
    const F = this.F;
    const bins = this.bins;
    for (let p = start; p < end; p++) {
      const r = order[p];
      const gr = g[r];
      const hr = h[r];
      const base = r * F;
      for (let f = 0; f < F; f++) {
        const o = (f * SLOTS + bins[base + f]) * 3;
        hist[o] += gr;
        hist[o + 1] += hr;
        hist[o + 2] += 1;
      }
    }
    return hist;
  }

  private score(g: number, h: number): number {
    return (g * g) / (h + this.params.l2);
  }

  private findSplit(leaf: Leaf): Split | null {
    const p = this.params;
    if (leaf.n < 2 * p.minSamplesLeaf) return null;
    if (p.maxDepth > 0 && leaf.depth >= p.maxDepth) return null;
    const hist = leaf.hist!;
    const parent = this.score(leaf.g, leaf.h);
    let best: Split | null = null;
    const consider = (f: number, bin: number, missingLeft: boolean, categorical: boolean, gl: number, hl: number, nl: number) => {
      const gr = leaf.g - gl;
      const hr = leaf.h - hl;
      const nr = leaf.n - nl;
      if (nl < p.minSamplesLeaf || nr < p.minSamplesLeaf || hl < p.minChildWeight || hr < p.minChildWeight) return;
      const gain = this.score(gl, hl) + this.score(gr, hr) - parent;
      if (gain > p.minGainToSplit && (best === null || gain > best.gain)) {
        best = { gain, feature: f, bin, missingLeft, categorical, gl, hl, nl };
      }
    };
    for (let f = 0; f < this.F; f++) {
      const binner = this.binners[f];
      const off = f * SLOTS * 3;
      if (binner.kind === 'categorical') {
        for (let c = 0; c < binner.nBins; c++) {
          const o = off + c * 3;
          if (hist[o + 2] > 0) consider(f, c, false, true, hist[o], hist[o + 1], hist[o + 2]);
        }
        continue;
      }
      const mo = off + MISSING_BIN * 3;
      const gm = hist[mo];
      const hm = hist[mo + 1];
      const nm = hist[mo + 2];
      let gl = 0;
      let hl = 0;
      let nl = 0;
      const last = binner.nBins - 1;
      for (let b = 0; b < last; b++) {
        const o = off + b * 3;
        if (hist[o + 2] === 0) continue; // same partition as the previous bin
        gl += hist[o];
        hl += hist[o + 1];
        nl += hist[o + 2];
        if (nm > 0) {
          consider(f, b, false, false, gl, hl, nl);
          consider(f, b, true, false, gl + gm, hl + hm, nl + nm);
        } else {
          // No missing values here: at inference they follow the larger child.
          consider(f, b, nl > leaf.n - nl, false, gl, hl, nl);
        }
      }
      if (nm > 0 && nm < leaf.n) {
        // every present value left, missing right
        consider(f, last, false, false, leaf.g - gm, leaf.h - hm, leaf.n - nm);
      }
    }
    return best;
  }

  private goesLeft(split: Split, bin: number): boolean {
    if (split.categorical) return bin === split.bin;
    return bin === MISSING_BIN ? split.missingLeft : bin <= split.bin;
  }

  /** Stable in-place partition of order[start,end); returns the first index of the right part. */
  private partition(order: Uint32Array, leaf: Leaf, split: Split): number {
    const F = this.F;
    const f = split.feature;
    let l = leaf.start;
    let r = 0;
    for (let p = leaf.start; p < leaf.end; p++) {
      const row = order[p];
      if (this.goesLeft(split, this.bins[row * F + f])) order[l++] = row;
      else this.scratch[r++] = row;
    }
    order.set(this.scratch.subarray(0, r), l);
    return l;
  }

  /**
   * Grows a tree over the rows in `order` (a permutation of training row indices; reordered in place) and returns
   * it with leaf values `-G/(H+λ)·learningRate`; `leafRanges` receives, for each leaf, its [start,end) range in order.
   */
  grow(
    order: Uint32Array,
    g: Float64Array,
    h: Float64Array,
    learningRate: number,
    leafRanges?: (value: number, start: number, end: number) => void,
  ): Tree {
    const tree: Tree = { feature: [], splitBin: [], threshold: [], categorical: [], missingLeft: [], left: [], right: [], value: [] };
    const addNode = (): number => {
      tree.feature.push(-1);
      tree.splitBin.push(0);
      tree.threshold.push(0);
      tree.categorical.push(false);
      tree.missingLeft.push(false);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push(0);
      return tree.feature.length - 1;
    };
    let G = 0;
    let H = 0;
    for (let p = 0; p < order.length; p++) {
      G += g[order[p]];
      H += h[order[p]];
    }
    const root: Leaf = { node: addNode(), start: 0, end: order.length, depth: 0, g: G, h: H, n: order.length, hist: null, split: null };
    root.hist = this.buildHist(order, 0, order.length, g, h);
    root.split = this.findSplit(root);
    const open: Leaf[] = [root];
    let leaves = 1;
    while (leaves < this.params.maxLeafNodes) {
      let bestIndex = -1;
      for (let i = 0; i < open.length; i++) {
        const s = open[i].split;
        if (s && (bestIndex < 0 || s.gain > open[bestIndex].split!.gain)) bestIndex = i;
      }
      if (bestIndex < 0) break;
      const leaf = open[bestIndex];
      open.splice(bestIndex, 1);
      const split = leaf.split!;
      const mid = this.partition(order, leaf, split);
      const node = leaf.node;
      const binner = this.binners[split.feature];
      tree.feature[node] = split.feature;
      tree.splitBin[node] = split.bin;
      tree.categorical[node] = split.categorical;
      tree.missingLeft[node] = split.missingLeft;
      tree.threshold[node] = split.categorical
        ? split.bin
        : binner.kind === 'numeric' && split.bin < binner.thresholds.length
          ? binner.thresholds[split.bin]
          : Infinity;
      const left: Leaf = {
        node: addNode(),
        start: leaf.start,
        end: mid,
        depth: leaf.depth + 1,
        g: split.gl,
        h: split.hl,
        n: split.nl,
        hist: null,
        split: null,
      };
      const right: Leaf = {
        node: addNode(),
        start: mid,
        end: leaf.end,
        depth: leaf.depth + 1,
        g: leaf.g - split.gl,
        h: leaf.h - split.hl,
        n: leaf.n - split.nl,
        hist: null,
        split: null,
      };
      tree.left[node] = left.node;
      tree.right[node] = right.node;
      leaves++;
      const canSplitMore = leaves < this.params.maxLeafNodes;
      if (canSplitMore) {
        const [small, large] = left.n <= right.n ? [left, right] : [right, left];
        small.hist = this.buildHist(order, small.start, small.end, g, h);
        const parentHist = leaf.hist!;
        for (let i = 0; i < parentHist.length; i++) parentHist[i] -= small.hist[i];
        large.hist = parentHist;
        leaf.hist = null;
        for (const child of [left, right]) {
          child.split = this.findSplit(child);
          if (!child.split) {
            this.release(child.hist);
            child.hist = null;
          }
        }
      } else {
        this.release(leaf.hist);
        leaf.hist = null;
      }
      open.push(left, right);
    }
    for (const leaf of open) {
      this.release(leaf.hist);
      leaf.hist = null;
      const denominator = leaf.h + this.params.l2;
      const value = denominator > 0 ? (-leaf.g / denominator) * learningRate : 0;
      tree.value[leaf.node] = value;
      leafRanges?.(value, leaf.start, leaf.end);
    }
    return tree;
  }
}

/** Leaf value for one binned row (training-time predictions on validation rows). */
export function predictBinned(tree: Tree, bins: Uint8Array, rowBase: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    const bin = bins[rowBase + tree.feature[node]];
    const left = tree.categorical[node]
      ? bin === tree.splitBin[node]
      : bin === MISSING_BIN
        ? tree.missingLeft[node]
        : bin <= tree.splitBin[node];
    node = left ? tree.left[node] : tree.right[node];
  }
  return tree.value[node];
}
