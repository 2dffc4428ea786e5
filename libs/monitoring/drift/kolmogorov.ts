/**
 * Distributions of the Kolmogorov–Smirnov statistic, as SciPy computes them, so that mlcycle's KS p-values are
 * SciPy's (checked by kolmogorov.spec.ts against scipy.stats.kstwo.sf, scipy.special.smirnov and ks_2samp):
 *
 * - `kolmogorovSf(n, d)`: P(D_n ≥ d) for the two-sided one-sample statistic of sample size n — scipy.stats.kstwo.sf,
 *   i.e. scipy/stats/_ksstats.py `_kolmogn(n, x, cdf=False)`: Simard & L'Ecuyer (2011)'s choice between the
 *   Ruben–Gambino closed forms, Durbin's matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion, the Pelz–Good
 *   expansion and twice the one-sided Smirnov tail. ks_2samp's asymptotic p-value is kstwo.sf(d, round(mn/(m+n))).
 * - `smirnovSf(n, d)`: P(D+_n ≥ d), the one-sided statistic — scipy.special.smirnov (cephes kolmogorov.h), by the
 *   Birnbaum–Tingey sum. Cephes keeps double-double intermediates; here every term is positive and is computed in
 *   logs with an incrementally updated binomial, which keeps about 1e-12 relative accuracy up to n = 10^6.
 * - `twoSampleExactSf(n1, n2, d)`: ks_2samp's exact two-sided p-value, P(D_{n1,n2} ≥ d) — SciPy's
 *   `_compute_prob_outside_square` (n1 = n2) and the pythran `_compute_outer_prob_inside_method` (Hodges' lattice
 *   path count, in Viehmann's recursion for 1 − p, which stays within [0, 1] and cannot overflow).
 */

const TWO_POW_128 = 2 ** 128;
const TWO_POW_MINUS_128 = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
/** exp() of anything below this underflows (cephes MINLOG) */
const MIN_LOG = -7.451332191019412e2;
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;

// B_2j / (2j (2j-1)) for j = 8..1, highest power first (np.polyval order), as scipy's _ksstats.py lists them.
const STIRLING_COEFFICIENTS = [-3617 / 122400, 1 / 156, -691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12];

const clip01 = (p: number): number => (p < 0 ? 0 : p > 1 ? 1 : p);

/** ln(n! / n^n) by Stirling's series with n ln n removed up front (no cancellation). */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING_COEFFICIENTS) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/** One-sided Smirnov survival function P(D+_n ≥ d) (scipy.special.smirnov). */
export function smirnovSf(n: number, d: number): number {
  if (!(n > 0) || !(d >= 0 && d <= 1) || !Number.isInteger(n)) return Number.NaN;
  if (n === 1) return 1 - d;
  if (d === 0) return 1;
  if (d === 1) return 0;
  const nx = n * d;
  let nxFloor = Math.floor(nx);
  let alpha = nx - nxFloor;
  if (alpha >= 1) {
    nxFloor += 1;
    alpha = 0;
  }
  // x ≤ 1/n: closed form
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    const cdf = d * Math.pow(1 + d, n - 1);
    return clip01(1 - cdf);
  }
  if (-2 * n * d * d < MIN_LOG) return 0;
  if (nxFloor >= n - 1) return clip01(Math.pow(1 - d, n));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    // cephes' approximation for very large n: p ≈ exp(-(6nx + 1)² / 18n)
    const logp = -Math.pow(6 * n * d + 1, 2) / 18 / n;
    return Math.exp(logp);
  }
  // Lower sum over v = 0 .. n - floor(nx) - 1 of C(n, v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1); sf = x * sum.
  const terms = n - nxFloor;
  const vmid = Math.floor(n / 2);
  let logBinomial = 0;
  let sum = 0;
  for (let v = 0; v < terms; v++) {
    const lower = (n - v) / n - d; // 1 - x - v/n, as cephes forms it
    const upper = v / n + d; // x + v/n
    if (!(lower > 0)) break; // only rounding can get here: the last term of a lattice-point d, which is 0
    const logTerm = logBinomial + (n - v) * Math.log(lower) + (v - 1) * Math.log(upper);
    const term = Math.exp(logTerm);
    sum += term;
    // cephes' stopping rule: the remaining terms cannot add up to a rounding error of the sum
    if (term !== 0) {
      if (4 * (terms - v) * term < Number.EPSILON * sum && v !== terms - 1) break;
    } else if (v > vmid) {
      break;
    }
    logBinomial += Math.log(n - v) - Math.log(v + 1);
  }
  return clip01(d * sum);
}

/** Durbin's matrix algorithm as Marsaglia, Tsang & Wang compute it: P(D_n ≤ d) (scipy `_kolmogn_DMTW`). */
function kolmogorovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let factorial = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = factorial;
    factorial /= j;
    v[j - 1] = (1 - Math.pow(h, j)) * factorial;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * factorial;

  let H = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let power = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let exponent = 0;
  let hExponent = 0;
  let remaining = n;
  while (remaining > 0) {
    if (remaining % 2) {
      power = multiply(power, H, m);
      exponent += hExponent;
    }
    H = multiply(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > TWO_POW_128) {
      for (let i = 0; i < H.length; i++) H[i] /= TWO_POW_128;
      hExponent += 128;
    }
    remaining = Math.floor(remaining / 2);
  }
  let p = power[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_POW_MINUS_128) {
      p *= TWO_POW_128;
      exponent -= 128;
    }
  }
  if (exponent !== 0) p *= Math.pow(2, exponent);
  return clip01(p);
}

function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      const row = k * m;
      const outRow = i * m;
      for (let j = 0; j < m; j++) out[outRow + j] += aik * b[row + j];
    }
  }
  return out;
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pomeranz's recursion: P(D_n ≤ d) (scipy `_kolmogn_Pomeranz`). */
function kolmogorovCdfPomeranz(n: number, d: number): number {
  const t = n * d;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const powers = 2 * (ll + 1);
  const gPower = new Float64Array(powers);
  const twoGPower = new Float64Array(powers);
  const oneMinusTwoGPower = new Float64Array(powers);
  gPower[0] = twoGPower[0] = oneMinusTwoGPower[0] = 1;
  for (let m = 1; m < powers; m++) {
    gPower[m] = (gPower[m - 1] * (g / n)) / m;
    twoGPower[m] = (twoGPower[m - 1] * ((2 * g) / n)) / m;
    oneMinusTwoGPower[m] = (oneMinusTwoGPower[m - 1] * ((1 - 2 * g) / n)) / m;
  }
  let v0 = new Float64Array(powers);
  let v1 = new Float64Array(powers);
  v1[0] = 1;
  let v0Start = 0;
  let v1Start = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0Start, v1Start] = [v1Start, v0Start];
    v1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const weights = i === 1 || i === 2 * n + 1 ? gPower : i % 2 ? twoGPower : oneMinusTwoGPower;
    const length = j2 - k1 + 1;
    if (length > 0) {
      // V1[0 .. j2-j1] = (V0[k1-V0s ..] ⊛ weights)[j1-k1 ..]
      const offset = k1 - v0Start;
      const sourceLength = Math.min(length, powers - offset); // numpy's slice stops at the row's end
      const start = j1 - k1;
      const count = j2 - j1 + 1;
      let max = 0;
      for (let r = 0; r < count; r++) {
        const index = start + r;
        let acc = 0;
        for (let s = Math.max(0, index - length + 1); s <= Math.min(index, sourceLength - 1); s++) acc += v0[offset + s] * weights[index - s];
        v1[r] = acc;
        if (acc > max) max = acc;
      }
      if (max > 0 && max < TWO_POW_MINUS_128) {
        for (let r = 0; r < count; r++) v1[r] *= TWO_POW_128;
        exponent -= 128;
      }
      v1Start = v0Start + j1 - k1;
    }
  }
  let answer = v1[n - v1Start];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > TWO_POW_128) {
      answer *= TWO_POW_MINUS_128;
      exponent += 128;
    }
    answer *= m;
  }
  if (exponent !== 0) answer *= Math.pow(2, exponent);
  return clip01(answer);
}

/** Pelz–Good expansion of P(D_n ≤ d), for large n (scipy `_kolmogn_PelzGood`). */
function kolmogorovCdfPelzGood(n: number, d: number): number {
  if (d <= 0) return 0;
  if (d >= 1) return 1;
  const z = Math.sqrt(n) * d;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI_SQUARED / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * z2)) / 16;
  const k3d = (PI_SIX * (5 - 30 * z2)) / 64;
  const k3c = (PI_FOUR * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI_SQUARED * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = Math.pow(q, 8 * k);
    K[0] = K[0] * qpower + 1;
    K[1] = K[1] * qpower + (k1a + k1b * m2);
    K[2] = K[2] * qpower + (k2a + k2b * m2 + k2c * m4);
    K[3] = K[3] * qpower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT_2PI) / divisors[i];
  q = Math.exp(-PI_SQUARED / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = SQRT3 * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qk = Math.pow(q, k2);
    k2extra += k2 * qk;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk;
  }
  K[2] += (k2extra * PI_SQUARED * SQRT_2PI) / (-36 * z3);
  K[3] += (k3extra * PI_SQUARED * SQRT_2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i] / Math.pow(n, i / 2);
  return sum;
}

/**
 * P(D_n ≥ d) for the two-sided one-sample KS statistic: scipy.stats.kstwo.sf(d, n), branch for branch as
 * scipy/stats/_ksstats.py `_kolmogn(n, x, cdf=False)` (Simard & L'Ecuyer 2011).
 */
export function kolmogorovSf(n: number, d: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(d)) return Number.NaN;
  if (d >= 1) return 0;
  if (d <= 0) return 1;
  const t = n * d;
  if (t <= 1) {
    // Ruben–Gambino: 1/2n ≤ d ≤ 1/n
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * Math.pow(1 - d, n)); // Ruben–Gambino
  if (d >= 0.5) return clip01(2 * smirnovSf(n, d)); // exact: the one-sided events are disjoint
  const nxSquared = t * d;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip01(1 - kolmogorovCdfDurbin(n, d));
    if (nxSquared <= 4) return clip01(1 - kolmogorovCdfPomeranz(n, d));
    return clip01(2 * smirnovSf(n, d));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, d));
  const cdf = n <= 100_000 && n * Math.pow(d, 1.5) <= 1.4 ? kolmogorovCdfDurbin(n, d) : kolmogorovCdfPelzGood(n, d);
  return clip01(1 - cdf);
}

/**
 * P(D_{n,n} ≥ h/n) for two samples of equal size (scipy `_compute_prob_outside_square`): the alternating
 * reflection sum, evaluated Horner-style on ratios of binomials to avoid cancellation.
 */
function probabilityOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * Share of lattice paths from (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm(m,n), i.e.
 * P(D_{m,n} ≥ h/lcm) (scipy's pythran `_compute_outer_prob_inside_method`). O(m × band width).
 */
function probabilityOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let currentLength = maxj - minj;
  const lengthA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lengthA).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastMinj = minj;
    const lastLength = currentLength;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let value = minj === 0 ? 0 : 1;
    const shift = minj - lastMinj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      // SciPy's (A·i + value·j) / (i + j), with the division off the loop-carried chain through `value`: the
      // reciprocal does not depend on the previous cell, so this runs at multiply-add speed (same value to ~1 ulp).
      const r = 1 / (i + j);
      value = A[jj + shift] * (i * r) + value * (j * r);
      A[jj] = value;
    }
    currentLength = maxj - minj;
    if (lastLength > currentLength) A.fill(1, maxj - minj, maxj - minj + (lastLength - currentLength));
  }
  return A[maxj - minj - 1];
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Python's round(): halves go to the even neighbour (np.round), unlike Math.round. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface TwoSampleExact {
  /** the statistic snapped to the lattice, h / lcm(n1, n2), as SciPy reports it in exact mode */
  statistic: number;
  pValue: number;
}

/**
 * Exact two-sided P(D_{n1,n2} ≥ d) as ks_2samp(method='exact') computes it (`_attempt_exact_2kssamp`), or null
 * where SciPy's attempt would fail and it falls back to the asymptotic distribution.
 */
export function twoSampleExactSf(n1: number, n2: number, d: number): TwoSampleExact | null {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const p = n1 === n2 ? probabilityOutsideSquare(n1, h) : probabilityOutsideBand(n1, n2, g, h);
  if (!(p >= 0 && p <= 1)) return null;
  return { statistic, pValue: p };
}
