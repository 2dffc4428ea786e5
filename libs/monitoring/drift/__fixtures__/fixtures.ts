/**
 * Typed access to scipy-drift.json, written by make_fixtures.py (SciPy and Evidently results on seeded data), and
 * the tolerance every drift spec uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** numeric samples in JSON: null stands for NaN (JSON has no NaN) */
export type JsonNumbers = (number | null)[];

export interface DriftFixtures {
  versions: { python: string; numpy: string; scipy: string; evidently: string | null };
  gammaincc: [number, number, number][];
  chi2_sf: [number, number, number][];
  norm_sf: [number, number][];
  kstwo_sf: [number, number, number][];
  smirnov: [number, number, number][];
  ks_2samp: { name: string; a: number[]; b: number[]; statistic: number; pvalue: number }[];
  chisquare: { name: string; reference: string[]; current: string[]; statistic: number | null; pvalue: number }[];
  z: { name: string; reference: string[]; current: string[]; statistic: number; pvalue: number }[];
  categorical_distances: { name: string; reference: string[]; current: string[]; jensenshannon: number; psi: number }[];
  numeric_distances: {
    name: string;
    reference: number[];
    current: number[];
    wasserstein: number;
    reference_std: number;
    wasserstein_normed: number;
    jensenshannon: number;
    psi: number;
    sturges_bins: number;
  }[];
  evidently: {
    name: string;
    kind: 'numeric' | 'categorical';
    reference: JsonNumbers | string[];
    current: JsonNumbers | string[];
    method: string;
    score: number;
    threshold: number;
    drift: boolean;
  }[];
}

export const fixtures = JSON.parse(readFileSync(join(__dirname, 'scipy-drift.json'), 'utf8')) as DriftFixtures;

export const TOLERANCE = 1e-6;

/**
 * Relative 1e-6 (so also absolute 1e-6 for p-values), with an absolute floor for values that are zero up to
 * rounding on one side. Throws with the label, so a failing row of a table says which one it is.
 */
export function expectClose(actual: number | null, expected: number | null, label: string, absoluteFloor = 1e-15): void {
  if (expected === null || actual === null) {
    if (actual !== expected) throw new Error(`${label}: expected ${expected}, got ${actual}`);
    return;
  }
  if (actual === expected) return; // equal infinities included
  const difference = Math.abs(actual - expected);
  if (!(difference <= Math.max(absoluteFloor, TOLERANCE * Math.abs(expected)))) {
    throw new Error(`${label}: expected ${expected}, got ${actual} (difference ${difference})`);
  }
}

export function toFloat64(values: JsonNumbers): Float64Array {
  return Float64Array.from(values, (v) => (v === null ? Number.NaN : v));
}
