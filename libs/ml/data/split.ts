/**
 * Deterministic train/validation/test split. The same inputs give the same three row sets on every run and
 * machine: the shuffle uses its own seeded PRNG (mulberry32, 32-bit integer arithmetic only), never Math.random,
 * and classes are visited in sorted order. The membership hash lets lineage prove which rows a model saw.
 *
 * membershipHash = hex SHA-256 over, for each part in the order train, validation, test: the part's row count as
 * a 32-bit unsigned little-endian integer, then its row indices in ascending order, each a 32-bit unsigned
 * little-endian integer. (No separators or names; the counts delimit the parts.)
 */
import { createHash } from 'node:crypto';

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export interface SplitInput {
  rowCount: number;
  /** per-row class labels; rows whose label is null are left out of every part */
  labels?: readonly (string | null)[];
  fractions: SplitFractions;
  seed: number;
  /** split each class separately by the same fractions (needs labels) */
  stratify: boolean;
}

export interface SplitResult {
  /** row indices, ascending */
  train: Uint32Array;
  validation: Uint32Array;
  test: Uint32Array;
  membershipHash: string;
}

const PARTS = ['train', 'validation', 'test'] as const;

/**
 * Splits row indices into train, validation and test. Each group (the whole table, or each class when
 * stratifying) is shuffled and cut by the fractions, rounding by largest remainder; a group of 3 or more rows
 * gives every part at least one row. Rows with a null label are excluded.
 */
export function splitRows(input: SplitInput): SplitResult {
  const { rowCount, labels, fractions, seed, stratify } = input;
  if (!Number.isInteger(rowCount) || rowCount < 0 || rowCount > 0xffffffff) {
    throw new RangeError(`rowCount must be a non-negative integer, got ${rowCount}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  for (const part of PARTS) {
    const f = fractions[part];
    if (!(f >= 0 && f <= 1)) throw new RangeError(`fractions.${part} must be between 0 and 1, got ${f}`);
  }
  const total = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(total - 1) > 1e-9) throw new RangeError(`fractions must add up to 1, got ${Number(total.toFixed(6))}`);
  if (labels && labels.length !== rowCount) {
    throw new RangeError(`labels has ${labels.length} entries but rowCount is ${rowCount}`);
  }
  if (stratify && !labels) throw new RangeError('stratify needs labels');

  const groups: number[][] = [];
  if (stratify && labels) {
    const byClass = new Map<string, number[]>();
    for (let row = 0; row < rowCount; row++) {
      const label = labels[row];
      if (label === null || label === undefined) continue;
      let rows = byClass.get(label);
      if (!rows) byClass.set(label, (rows = []));
      rows.push(row);
    }
    for (const label of [...byClass.keys()].sort(compareStrings)) groups.push(byClass.get(label)!);
  } else {
    const rows: number[] = [];
    for (let row = 0; row < rowCount; row++) if (!labels || (labels[row] !== null && labels[row] !== undefined)) rows.push(row);
    groups.push(rows);
  }

  const random = mulberry32(seed >>> 0);
  const parts: number[][] = [[], [], []];
  for (const rows of groups) {
    shuffle(rows, random);
    const counts = allocate(rows.length, fractions);
    let start = 0;
    counts.forEach((count, p) => {
      for (let i = start; i < start + count; i++) parts[p].push(rows[i]);
      start += count;
    });
  }
  const [train, validation, test] = parts.map((rows) => Uint32Array.from(rows).sort());
  return { train, validation, test, membershipHash: membershipHash(train, validation, test) };
}

/** Row counts per part for a group of n rows: largest remainder rounding, at least one each when n ≥ 3. */
export function allocate(n: number, fractions: SplitFractions): [number, number, number] {
  const exact = PARTS.map((p) => n * fractions[p]);
  const counts = exact.map(Math.floor) as [number, number, number];
  let left = n - counts[0] - counts[1] - counts[2];
  // Ties go to the earlier part (train, then validation), so the result is fully determined.
  const order = [0, 1, 2].sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const p of order) {
    if (left <= 0) break;
    counts[p]++;
    left--;
  }
  if (n >= 3) {
    for (let p = 0; p < 3; p++) {
      if (counts[p] > 0 || fractions[PARTS[p]] === 0) continue;
      const donor = [0, 1, 2].reduce((best, q) => (counts[q] > counts[best] ? q : best), 0);
      counts[donor]--;
      counts[p]++;
    }
  }
  return counts;
}

/** See the module comment for the exact encoding. */
export function membershipHash(train: Uint32Array, validation: Uint32Array, test: Uint32Array): string {
  const hash = createHash('sha256');
  for (const part of [train, validation, test]) {
    const bytes = Buffer.alloc(4 * (part.length + 1));
    bytes.writeUInt32LE(part.length, 0);
    for (let i = 0; i < part.length; i++) bytes.writeUInt32LE(part[i], 4 * (i + 1));
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** mulberry32: a small 32-bit PRNG; returns floats in [0, 1) built from 32-bit integers, so every platform agrees. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates, in place. */
function shuffle(rows: number[], random: () => number): void {
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = rows[i];
    rows[i] = rows[j];
    rows[j] = tmp;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
