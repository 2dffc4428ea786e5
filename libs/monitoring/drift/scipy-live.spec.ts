/**
 * The same comparisons as the fixture specs, on data made here and computed by the SciPy installed on this
 * machine, so a SciPy release that changes a result shows up without regenerating fixtures. Skipped, with a
 * message saying so, where python3 has no SciPy; the fixture specs still run.
 */
import { spawnSync } from 'node:child_process';
import { expectClose } from './__fixtures__/fixtures';
import { detectColumnDrift } from './drift';
import { alignCategories, categoricalSample, firstKeyIndex, numericSample } from './samples';
import { chiSquareContingency, chiSquareTest, ksTwoSample, proportionsZTest, wassersteinNormed } from './stattests';

const PYTHON = process.env.PYTHON ?? 'python3';
const probe = spawnSync(PYTHON, ['-c', 'import scipy, numpy; print(scipy.__version__)'], { encoding: 'utf8' });
const scipyVersion = probe.status === 0 ? probe.stdout.trim() : null;

// Reads {cases: [...]} on stdin, writes one result per case. The Evidently formulas are restated as in
// __fixtures__/make_fixtures.py.
const SCRIPT = String.raw`
import json, sys
import numpy as np
from scipy import stats
from scipy.spatial import distance

def binned(ref, cur, numeric, fill):
    ref, cur = np.asarray(ref), np.asarray(cur)
    if numeric and len(np.unique(ref)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r, c = np.histogram(ref, bins)[0] / len(ref), np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = sorted(set(ref.tolist()) | set(cur.tolist()))
        r = np.array([np.sum(ref == k) / len(ref) for k in keys])
        c = np.array([np.sum(cur == k) / len(cur) for k in keys])
    if fill:
        for s in (r, c):
            low = min(s[s != 0])
            np.place(s, s == 0, low / 10**6 if low <= 0.0001 else 0.0001)
    return r, c

out = []
for case in json.load(sys.stdin)["cases"]:
    ref, cur, kind = case["reference"], case["current"], case["kind"]
    res = {}
    if kind == "numeric":
        ref, cur = np.array(ref, dtype=float), np.array(cur, dtype=float)
        ks = stats.ks_2samp(ref, cur)
        res["ks"] = [float(ks.statistic), float(ks.pvalue)]
        res["wasserstein"] = float(stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))
    else:
        keys = sorted(set(ref) | set(cur))
        k = len(cur) / len(ref)
        chi = stats.chisquare([cur.count(x) for x in keys], [ref.count(x) * k for x in keys])
        res["chisquare"] = [float(chi.statistic), float(chi.pvalue)]
        homogeneity = stats.chi2_contingency([[ref.count(x) for x in keys], [cur.count(x) for x in keys]])
        res["chi2_contingency"] = [float(homogeneity.statistic), float(homogeneity.pvalue)]
        if len(keys) == 2:
            r = np.array([0 if v == keys[0] else 1 for v in ref]); c = np.array([0 if v == keys[0] else 1 for v in cur])
            p1, p2 = r.mean(), c.mean(); P = (p1 * len(r) + p2 * len(c)) / (len(r) + len(c))
            z = (p1 - p2) / np.sqrt(P * (1 - P) * (1 / len(r) + 1 / len(c)))
            res["z"] = [float(z), float(2 * (1 - stats.norm.cdf(abs(z))))]
    r, c = binned(ref, cur, kind == "numeric", False)
    res["jensenshannon"] = float(distance.jensenshannon(r, c))
    r, c = binned(ref, cur, kind == "numeric", True)
    res["psi"] = float(np.sum((r - c) * np.log(r / c)))
    out.append(res)
# JSON has no Infinity: an infinite statistic (a category the reference lacks, for chisquare) goes as null.
print(json.dumps(out).replace("Infinity", "null"))
`;

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function normals(n: number, mean: number, sd: number, seed: number): number[] {
  const random = lcg(seed);
  // rounded, so the values survive the trip through JSON text exactly
  return Array.from({ length: n }, () => Math.round((mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())) * 1e4) / 1e4);
}

function labels(n: number, weights: number[], seed: number): string[] {
  const random = lcg(seed);
  return Array.from({ length: n }, () => {
    let u = random();
    for (let i = 0; i < weights.length; i++) if ((u -= weights[i]) < 0) return 'pqrstu'[i];
    return 'pqrstu'[weights.length - 1];
  });
}

type Case = { name: string; kind: 'numeric'; reference: number[]; current: number[] } | { name: string; kind: 'categorical'; reference: string[]; current: string[] };

const cases: Case[] = [
  { name: 'ks exact, n1 = n2', kind: 'numeric', reference: normals(300, 0, 1, 1), current: normals(300, 0.2, 1, 2) },
  { name: 'ks exact, n1 ≠ n2', kind: 'numeric', reference: normals(700, 0, 1, 3), current: normals(2500, 0.05, 1.1, 4) },
  { name: 'ks asymptotic', kind: 'numeric', reference: normals(900, 0, 1, 5), current: normals(10_500, 0.04, 1, 6) },
  { name: 'wasserstein / binned distances', kind: 'numeric', reference: normals(4000, 3, 2, 7), current: normals(3000, 3.3, 2.2, 8) },
  { name: 'few-valued numeric', kind: 'numeric', reference: normals(1500, 2, 1, 9).map(Math.round), current: normals(1200, 2.2, 1, 10).map(Math.round) },
  { name: 'categorical, four categories', kind: 'categorical', reference: labels(800, [0.4, 0.3, 0.2, 0.1], 11), current: labels(600, [0.35, 0.3, 0.2, 0.15], 12) },
  { name: 'categorical, two categories', kind: 'categorical', reference: labels(900, [0.7, 0.3], 13), current: labels(500, [0.62, 0.38], 14) },
  { name: 'categorical, a category only the window has', kind: 'categorical', reference: labels(400, [0.6, 0.4], 15), current: labels(300, [0.5, 0.4, 0.1], 16) },
];

if (!scipyVersion) {
  console.warn(`live SciPy comparison skipped: \`${PYTHON} -c "import scipy"\` failed (${(probe.stderr || String(probe.error)).trim().split('\n').pop()})`);
  describe('live comparison with SciPy', () => {
    it.skip(`skipped: \`${PYTHON} -c "import scipy"\` failed, so only the committed fixtures are checked`, () => undefined);
  });
} else {
  describe(`live comparison with the installed SciPy ${scipyVersion}`, () => {
    let expected: Record<string, [number, number] | number>[];

    beforeAll(() => {
      const run = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify({ cases }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
      expected = JSON.parse(run.stdout) as typeof expected;
    }, 120_000);

    it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (name, c, i) => {
      const want = expected[i];
      const auto = c.kind === 'numeric' ? detectColumnDrift({ ...c, reference: Float64Array.from(c.reference), current: Float64Array.from(c.current) }) : detectColumnDrift(c);
      expectClose(auto.psi, want.psi as number, `${name} psi`);
      const js = detectColumnDrift(
        c.kind === 'numeric' ? { ...c, reference: Float64Array.from(c.reference), current: Float64Array.from(c.current) } : c,
        { numeric: { method: 'jensenshannon' }, categorical: { method: 'jensenshannon' } },
      );
      expectClose(js.score, want.jensenshannon as number, `${name} jensenshannon`);
      if (c.kind === 'numeric') {
        const ref = numericSample(c.reference);
        const cur = numericSample(c.current);
        const ks = ksTwoSample(ref.sorted, cur.sorted);
        const [statistic, pValue] = want.ks as [number, number];
        expectClose(ks.statistic, statistic, `${name} ks statistic`);
        expectClose(ks.pValue, pValue, `${name} ks p-value`, 1e-300);
        expectClose(wassersteinNormed(ref.sorted, cur.sorted, ref.std).normed, want.wasserstein as number, `${name} wasserstein`);
      } else {
        const counts = alignCategories(categoricalSample(c.reference), categoricalSample(c.current));
        const chi = chiSquareTest(counts.reference, counts.current);
        expectClose(chi.statistic, (want.chisquare as [number, number])[0] ?? Infinity, `${name} chi-square statistic`);
        expectClose(chi.pValue, (want.chisquare as [number, number])[1], `${name} chi-square p-value`, 1e-300);
        const homogeneity = chiSquareContingency(counts.reference, counts.current);
        expectClose(homogeneity.statistic, (want.chi2_contingency as [number, number])[0], `${name} chi2_contingency statistic`);
        expectClose(homogeneity.pValue, (want.chi2_contingency as [number, number])[1], `${name} chi2_contingency p-value`, 1e-300);
        if (want.z) {
          const z = proportionsZTest(counts.reference, counts.current, firstKeyIndex(counts.keys));
          expectClose(z.statistic, (want.z as [number, number])[0], `${name} z`);
          expectClose(z.pValue, (want.z as [number, number])[1], `${name} z p-value`, 1e-15);
        }
      }
    });
  });
}
