/**
 * Special functions behind the drift p-values: log-gamma, the regularized incomplete gamma functions, and the
 * chi-square and normal tails built on them. Double precision throughout, checked against SciPy
 * (scipy.special.gammaincc, scipy.stats.chi2.sf, scipy.stats.norm.sf) by special.spec.ts.
 *
 * One routine serves every tail: the normal tail is erfc, and erfc(x) = Q(1/2, x²), so no separate rational
 * approximation of erf (whose coefficients would be one more thing to get wrong) is needed.
 */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const EPSILON = Number.EPSILON;
const MAX_ITERATIONS = 100_000;

// Stirling series coefficients B_2k / (2k (2k-1)), k = 1..7.
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156];

/**
 * ln Γ(x) for x > 0. Stirling's series from x ≥ 15, where the first omitted term is below 1e-19, and the
 * recurrence Γ(x) = Γ(x + k) / (x (x+1) … (x+k-1)) below that.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : Number.NaN;
  if (x === Infinity) return Infinity;
  let shift = 0;
  let product = 1;
  let z = x;
  while (z < 15) {
    product *= z;
    z += 1;
    shift++;
  }
  const inverse = 1 / z;
  const inverseSquared = inverse * inverse;
  let series = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) series = series * inverseSquared + STIRLING[k];
  const stirling = (z - 0.5) * Math.log(z) - z + LOG_SQRT_2PI + series * inverse;
  return shift === 0 ? stirling : stirling - Math.log(product);
}

/** x^a e^-x / Γ(a), the common factor of both incomplete-gamma expansions, computed in logs (a may be large). */
function gammaPrefactor(a: number, x: number): number {
  return Math.exp(a * Math.log(x) - x - logGamma(a));
}

/** P(a, x) by its power series; converges for any x, quickly while x < a + 1. */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
  }
  return sum * gammaPrefactor(a, x);
}

/** Q(a, x) by its continued fraction (modified Lentz); converges quickly for x ≥ a + 1. */
function upperGammaContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return h * gammaPrefactor(a, x);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) (scipy.special.gammaincc). Below x = a + 1 it is
 * 1 − P with P from the series; there P ≲ 0.7, so the subtraction costs no relative accuracy in Q.
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return Number.NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return Math.max(0, 1 - lowerGammaSeries(a, x));
  return Math.min(1, upperGammaContinuedFraction(a, x));
}

/** Regularized lower incomplete gamma P(a, x) (scipy.special.gammainc). */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return Number.NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  if (x < a + 1) return Math.min(1, lowerGammaSeries(a, x));
  return Math.max(0, 1 - upperGammaContinuedFraction(a, x));
}

/** Survival function of the chi-square distribution with `dof` degrees of freedom (scipy.stats.chi2.sf). */
export function chiSquareSf(statistic: number, dof: number): number {
  if (Number.isNaN(statistic) || !(dof > 0)) return Number.NaN;
  if (statistic <= 0) return 1;
  return regularizedGammaQ(dof / 2, statistic / 2);
}

/** Complementary error function, as Q(1/2, x²) for x ≥ 0. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  return regularizedGammaQ(0.5, x * x);
}

/** Upper tail of the standard normal, 1 − Φ(z) (scipy.stats.norm.sf), accurate far into the tail. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Standard normal CDF Φ(z) (scipy.stats.norm.cdf). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}
