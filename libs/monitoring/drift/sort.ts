/**
 * Sorting and counting on typed arrays: every numeric drift statistic here is a walk over sorted samples, so a
 * column is sorted once and everything else is linear. The sort is an LSD radix sort on the IEEE-754 bit patterns
 * (a few linear passes, no comparisons), several times faster than TypedArray.prototype.sort on a million values.
 */

/** Below this length the built-in sort wins: the radix passes have a fixed cost per 2^11-bucket histogram. */
const RADIX_MIN_LENGTH = 2048;
const DIGIT_BITS = 11;
const BUCKETS = 1 << DIGIT_BITS;
const MASK = BUCKETS - 1;

/**
 * The radix passes need a second buffer as large as the input. A monitoring worker sorts column after column of
 * similar sizes, so one scratch buffer is kept and reused (a fresh 8 MB buffer per million values would mostly
 * feed the garbage collector). It only ever holds intermediate keys.
 */
let scratch = new Float64Array(0);

/**
 * Sorts finite numbers ascending, in place, and returns the array. NaN must have been removed first (see
 * `finiteValues`); -0 sorts before +0, which no statistic here can see.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < RADIX_MIN_LENGTH) return values.sort();
  // Little-endian view: word 2i is the low half of values[i], word 2i+1 the high half (sign and exponent).
  const words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  // Map each double to an unsigned key with the same order: flip every bit of negatives, the sign bit of the rest.
  // Then count all six 11-bit digits (64 bits; the last digit has 9) in one pass.
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + 1];
    if (hi & 0x80000000) {
      words[2 * i] = ~words[2 * i];
      words[2 * i + 1] = ~hi;
    } else {
      words[2 * i + 1] = hi ^ 0x80000000;
    }
  }
  const counts = new Uint32Array(6 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i];
    const hi = words[2 * i + 1];
    counts[lo & MASK]++;
    counts[BUCKETS + ((lo >>> 11) & MASK)]++;
    counts[2 * BUCKETS + (((lo >>> 22) | (hi << 10)) & MASK)]++;
    counts[3 * BUCKETS + ((hi >>> 1) & MASK)]++;
    counts[4 * BUCKETS + ((hi >>> 12) & MASK)]++;
    counts[5 * BUCKETS + ((hi >>> 23) & MASK)]++;
  }
  if (scratch.length < n) scratch = new Float64Array(n);
  // Scatter whole 8-byte values through Float64Array views (one move instead of two word moves); only the digit
  // is read through the word view.
  let sourceValues = values;
  let targetValues = scratch.length === n ? scratch : scratch.subarray(0, n);
  let source = words;
  let target = new Uint32Array(targetValues.buffer, targetValues.byteOffset, n * 2);
  for (let pass = 0; pass < 6; pass++) {
    const offset = pass * BUCKETS;
    // A digit every key shares (low mantissa bits of rounded data, the exponent of a narrow range) moves nothing.
    let skip = false;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[offset + b];
      if (c === n) skip = true;
      if (c !== 0) break;
    }
    if (skip) continue;
    let total = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[offset + b];
      counts[offset + b] = total;
      total += c;
    }
    if (pass < 2) scatterLow(source, sourceValues, targetValues, counts, offset, pass * DIGIT_BITS);
    else if (pass === 2) scatterMiddle(source, sourceValues, targetValues, counts, offset);
    else scatterHigh(source, sourceValues, targetValues, counts, offset, (pass - 3) * DIGIT_BITS + 1);
    [source, target] = [target, source];
    [sourceValues, targetValues] = [targetValues, sourceValues];
  }
  // Back from keys to doubles, into the caller's array wherever the last pass left them.
  for (let i = 0; i < n; i++) {
    const lo = source[2 * i];
    const hi = source[2 * i + 1];
    if (hi & 0x80000000) {
      words[2 * i] = lo;
      words[2 * i + 1] = hi ^ 0x80000000;
    } else {
      words[2 * i] = ~lo;
      words[2 * i + 1] = ~hi;
    }
  }
  return values;
}

/**
 * A copy of the finite values (NaN and ±Infinity are missing, as Evidently drops them) and how many were left
 * out. The copy is what gets sorted, so the caller's column is never reordered.
 */
export function finiteValues(values: ArrayLike<number>): { values: Float64Array; missing: number } {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) count++;
  const out = new Float64Array(count);
  if (count === values.length) {
    for (let i = 0; i < count; i++) out[i] = values[i];
  } else {
    let k = 0;
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out[k++] = values[i];
  }
  return { values: out, missing: values.length - count };
}

/** Distinct values of a sorted array, stopping once more than `limit` are seen (returns limit + 1 then). */
export function countDistinctSorted(sorted: Float64Array, limit = Infinity): number {
  if (sorted.length === 0) return 0;
  let distinct = 1;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] !== sorted[i - 1] && ++distinct > limit) return distinct;
  }
  return distinct;
}

/** Distinct values of the union of two sorted arrays, stopping past `limit` like countDistinctSorted. */
export function countDistinctUnion(a: Float64Array, b: Float64Array, limit = Infinity): number {
  let i = 0;
  let j = 0;
  let distinct = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
    if (++distinct > limit) return distinct;
  }
  return distinct;
}

/** First index whose value is ≥ x (numpy searchsorted side='left'). */
export function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x (numpy searchsorted side='right'). */
export function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// One scatter loop per digit position, so the hot loop has no branch on the pass.
function scatterLow(words: Uint32Array, from: Float64Array, to: Float64Array, starts: Uint32Array, offset: number, shift: number): void {
  for (let i = 0; i < from.length; i++) to[starts[offset + ((words[2 * i] >>> shift) & MASK)]++] = from[i];
}

function scatterMiddle(words: Uint32Array, from: Float64Array, to: Float64Array, starts: Uint32Array, offset: number): void {
  for (let i = 0; i < from.length; i++) to[starts[offset + (((words[2 * i] >>> 22) | (words[2 * i + 1] << 10)) & MASK)]++] = from[i];
}

function scatterHigh(words: Uint32Array, from: Float64Array, to: Float64Array, starts: Uint32Array, offset: number, shift: number): void {
  for (let i = 0; i < from.length; i++) to[starts[offset + ((words[2 * i + 1] >>> shift) & MASK)]++] = from[i];
}
