#!/usr/bin/env python3
"""Writes scipy-drift.json: fixed data (seeded numpy) and what SciPy and Evidently compute on it, for the drift specs.

  pip install numpy scipy 'pandas<3' 'evidently>=0.7' && python3 libs/monitoring/drift/__fixtures__/make_fixtures.py

SciPy is required. Evidently is optional: without it the `evidently` section (Evidently's own method choice,
score and decision per column, through get_one_column_drift) is left empty and the spec says so. The PSI and
Jensen-Shannon binning below restates Evidently's get_binned_data; with Evidently installed the script checks
that restatement against Evidently's function before writing anything.

Numbers are rounded to a few decimals before anything is computed, so the JSON stays small and both sides see
exactly the same values.
"""
import json
import math
import os
import platform
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scipy-drift.json")


def finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def clean(values):
    """JSON for a numeric sample: NaN and infinities as null (the spec turns null back into NaN)."""
    return [None if not math.isfinite(v) else float(v) for v in values]


# --- Evidently's binning (evidently/legacy/calculations/stattests/utils.py get_binned_data), restated ---------

def binned_shares(reference, current, numeric, fill_zeroes):
    reference = np.asarray(reference)
    current = np.asarray(current)
    if numeric and len(np.unique(reference)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        ref = np.histogram(reference, bins)[0] / len(reference)
        cur = np.histogram(current, bins)[0] / len(current)
    else:
        keys = sorted(set(reference.tolist()) | set(current.tolist()))
        ref_counts = {k: 0 for k in keys}
        cur_counts = {k: 0 for k in keys}
        for v in reference.tolist():
            ref_counts[v] += 1
        for v in current.tolist():
            cur_counts[v] += 1
        ref = np.array([ref_counts[k] / len(reference) for k in keys])
        cur = np.array([cur_counts[k] / len(current) for k in keys])
    if fill_zeroes:
        for shares in (ref, cur):
            low = min(shares[shares != 0])
            np.place(shares, shares == 0, low / 10**6 if low <= 0.0001 else 0.0001)
    return ref, cur


def psi(reference, current, numeric):
    ref, cur = binned_shares(reference, current, numeric, True)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def jensenshannon(reference, current, numeric):
    ref, cur = binned_shares(reference, current, numeric, False)
    return float(distance.jensenshannon(ref, cur))


def chisquare(reference, current):
    """Evidently's chisquare stat test: observed current counts against reference counts scaled to the current size."""
    keys = sorted(set(reference) | set(current))
    k_norm = len(current) / len(reference)
    f_exp = [reference.count(k) * k_norm for k in keys]
    f_obs = [current.count(k) for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.chisquare(f_obs, f_exp)
    return result.statistic, result.pvalue


def z_test(reference, current):
    """Evidently's z stat test: pooled two-proportion Z-test of 'not the first category', p = 2 (1 - Phi(|z|))."""
    if len(set(reference)) == 1 and len(set(current)) == 1 and reference[0] == current[0]:
        return 0.0, 1.0
    first = sorted(set(reference) | set(current))[0]
    r = np.array([0 if v == first else 1 for v in reference])
    c = np.array([0 if v == first else 1 for v in current])
    n1, n2 = len(r), len(c)
    p1, p2 = r.sum() / n1, c.sum() / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(z), float(2 * (1 - stats.norm.cdf(abs(z))))


def wasserstein_normed(reference, current):
    raw = stats.wasserstein_distance(reference, current)
    return float(raw), float(raw / max(float(np.std(reference)), 0.001))


def main():
    rng = np.random.default_rng(20240611)
    r = lambda x, d=4: np.round(np.asarray(x, dtype=np.float64), d)  # noqa: E731

    fixtures = {
        "generated_by": "libs/monitoring/drift/__fixtures__/make_fixtures.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__, "evidently": None},
    }

    # --- special functions -------------------------------------------------------------------------------------
    fixtures["gammaincc"] = [[a, x, float(special.gammaincc(a, x))] for a in (0.5, 1, 1.5, 2, 4.5, 12, 49.5, 150, 999.5) for x in (1e-3, 0.3, 1, 2.5, 8, 30, 60, 160, 1100)]
    fixtures["chi2_sf"] = [[x, df, float(stats.chi2.sf(x, df))] for df in (1, 2, 3, 7, 19, 99) for x in (0.01, 0.5, 2, 3.84, 11.07, 30, 150, 400)]
    fixtures["norm_sf"] = [[z, float(stats.norm.sf(z))] for z in (-4, -1.5, 0, 0.3, 1, 1.959963985, 3, 6, 10, 25)]

    # --- Kolmogorov distributions: every branch of scipy's _kolmogn and of cephes smirnov ---------------------------
    ns = (1, 2, 3, 5, 10, 37, 100, 140, 141, 500, 999, 5000, 60000, 100000, 100001, 500000, 2000000)
    ds = (0.001, 0.004, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.8, 0.95)
    fixtures["kstwo_sf"] = [[n, d, float(stats.kstwo.sf(d, n))] for n in ns for d in ds]
    fixtures["smirnov"] = [[n, d, float(special.smirnov(n, d))] for n in ns for d in ds]

    # --- two-sample KS ------------------------------------------------------------------------------------------
    ks_cases = {
        "exact_equal_sizes": (r(rng.normal(0, 1, 50)), r(rng.normal(0.4, 1, 50))),
        "exact_unequal_sizes": (r(rng.normal(0, 1, 100)), r(rng.normal(0.2, 1.3, 80))),
        "exact_ties": (np.round(rng.normal(0, 3, 300)), np.round(rng.normal(0.5, 3, 200))),
        "exact_1000_vs_3000": (r(rng.normal(0, 1, 1000)), r(rng.normal(0.05, 1, 3000))),
        "exact_1000_vs_10000_shifted": (r(rng.normal(0, 1, 1000)), r(rng.normal(0.15, 1, 10000), 3)),
        "asymp_1000_vs_12000": (r(rng.normal(0, 1, 1000)), r(rng.normal(0.02, 1, 12000), 3)),
        "asymp_200_vs_15000_shifted": (r(rng.exponential(1, 200)), r(rng.exponential(1.3, 15000), 3)),
        "asymp_10001_vs_10001": (r(rng.normal(0, 1, 10001), 3), r(rng.normal(0.01, 1, 10001), 3)),
        "identical": (r(rng.normal(0, 1, 40)),) * 2,
        "disjoint": (r(rng.uniform(0, 1, 60)), r(rng.uniform(2, 3, 70))),
        "tiny": (np.array([1.0, 2.0, 3.0]), np.array([2.5, 3.5, 4.5, 5.5])),
        "single_values": (np.array([0.5]), np.array([0.25, 0.75, 1.25])),
    }
    fixtures["ks_2samp"] = []
    for name, (a, b) in ks_cases.items():
        result = stats.ks_2samp(a, b)
        fixtures["ks_2samp"].append({"name": name, "a": a.tolist(), "b": b.tolist(), "statistic": float(result.statistic), "pvalue": float(result.pvalue)})

    # --- categorical tests --------------------------------------------------------------------------------------
    def labels(probabilities, size, names="abcdefghij"):
        return rng.choice(list(names[: len(probabilities)]), size=size, p=probabilities).tolist()

    cat_cases = {
        "three_same": (labels([0.5, 0.3, 0.2], 600), labels([0.5, 0.3, 0.2], 400)),
        "four_shifted": (labels([0.4, 0.3, 0.2, 0.1], 800), labels([0.25, 0.25, 0.25, 0.25], 500)),
        "six_slight": (labels([0.3, 0.2, 0.2, 0.1, 0.1, 0.1], 1000), labels([0.28, 0.22, 0.2, 0.1, 0.1, 0.1], 900)),
        "unseen_category": (labels([0.6, 0.4], 300), labels([0.5, 0.3, 0.2], 200)),
        "category_gone": (labels([0.5, 0.3, 0.2], 300), labels([0.6, 0.4], 200)),
        "large_reference": (labels([0.2, 0.2, 0.2, 0.2, 0.2], 3000), labels([0.3, 0.2, 0.2, 0.2, 0.1], 2000)),
    }
    fixtures["chisquare"] = []
    fixtures["categorical_distances"] = []
    for name, (ref, cur) in cat_cases.items():
        statistic, pvalue = chisquare(ref, cur)
        fixtures["chisquare"].append({"name": name, "reference": ref, "current": cur, "statistic": finite_or_none(statistic), "pvalue": float(pvalue)})
        fixtures["categorical_distances"].append({"name": name, "reference": ref, "current": cur, "jensenshannon": jensenshannon(ref, cur, False), "psi": psi(ref, cur, False)})

    z_cases = {
        "balanced_same": (labels([0.5, 0.5], 500), labels([0.5, 0.5], 400)),
        "shifted": (labels([0.7, 0.3], 800), labels([0.6, 0.4], 600)),
        "rare_positive": (labels([0.97, 0.03], 1000), labels([0.95, 0.05], 1000)),
        "one_side_single": (labels([0.9, 0.1], 200), ["a"] * 150),
        "extreme": (["a"] * 400 + ["b"] * 10, ["b"] * 380 + ["a"] * 20),
        "both_single_same": (["a"] * 50, ["a"] * 60),
    }
    fixtures["z"] = []
    for name, (ref, cur) in z_cases.items():
        z, pvalue = z_test(ref, cur)
        fixtures["z"].append({"name": name, "reference": ref, "current": cur, "statistic": z, "pvalue": pvalue})

    # --- numeric distances --------------------------------------------------------------------------------------
    num_cases = {
        "normal_same": (r(rng.normal(10, 2, 2000)), r(rng.normal(10, 2, 1500))),
        "normal_shifted": (r(rng.normal(10, 2, 2000)), r(rng.normal(10.5, 2, 1500))),
        "scaled": (r(rng.normal(0, 1, 1500)), r(rng.normal(0, 1.4, 1200))),
        "lognormal_tail": (r(rng.lognormal(0, 1, 3000)), r(rng.lognormal(0.1, 1.1, 2500))),
        "few_values": (np.round(rng.uniform(0, 4, 1200)), np.round(rng.uniform(0, 4.4, 1100))),
        "twenty_values": (np.floor(rng.uniform(0, 20, 1500)), np.floor(rng.uniform(0, 20, 1500))),
        "twenty_one_values": (np.floor(rng.uniform(0, 21, 1500)), np.floor(rng.uniform(1, 22, 1500))),
        "constant_reference": (np.full(1100, 3.0), r(rng.normal(3, 0.01, 900))),
        "disjoint": (r(rng.uniform(0, 1, 1200)), r(rng.uniform(5, 6, 1300))),
        "identical": (r(rng.normal(0, 1, 1500)),) * 2,
    }
    fixtures["numeric_distances"] = []
    for name, (ref, cur) in num_cases.items():
        raw, normed = wasserstein_normed(ref, cur)
        fixtures["numeric_distances"].append({
            "name": name,
            "reference": ref.tolist(),
            "current": cur.tolist(),
            "wasserstein": raw,
            "reference_std": float(np.std(ref)),
            "wasserstein_normed": normed,
            "jensenshannon": jensenshannon(ref, cur, True),
            "psi": psi(ref, cur, True),
            "sturges_bins": len(np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")) - 1,
        })

    # --- Evidently end to end: method choice, score, decision -----------------------------------------------------
    fixtures["evidently"] = []
    try:
        import evidently
        import pandas as pd
        from evidently.legacy.calculations.data_drift import get_one_column_drift
        from evidently.legacy.calculations.stattests import utils as ev_utils
        from evidently.legacy.core import ColumnType
        from evidently.legacy.options.data_drift import DataDriftOptions
        from evidently.legacy.metric_results import DatasetColumns, DatasetUtilityColumns
    except ImportError as error:  # the SciPy sections above stand on their own
        print(f"evidently not importable ({error}); the evidently section stays empty", file=sys.stderr)
    else:
        fixtures["versions"]["evidently"] = evidently.__version__
        # The restated binning must be Evidently's.
        for case in fixtures["numeric_distances"] + fixtures["categorical_distances"]:
            numeric = case in fixtures["numeric_distances"]
            kind = ColumnType.Numerical if numeric else ColumnType.Categorical
            ref, cur = pd.Series(case["reference"]), pd.Series(case["current"])
            for fill in (True, False):
                theirs = ev_utils.get_binned_data(ref, cur, kind, 30, fill)
                ours = binned_shares(case["reference"], case["current"], numeric, fill)
                mine_sorted = [np.sort(x) for x in ours]
                theirs_sorted = [np.sort(np.asarray(x)) for x in theirs]
                assert all(np.allclose(m, t, rtol=1e-12, atol=0) for m, t in zip(mine_sorted, theirs_sorted)), case["name"]

        # Evidently reports a test by its display name; the spec speaks of the registered names.
        method_names = {"K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
                        "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon", "PSI": "psi"}

        def evidently_column(name, kind, reference, current):
            column_type = ColumnType.Numerical if kind == "numeric" else ColumnType.Categorical
            ref = pd.DataFrame({name: reference})
            cur = pd.DataFrame({name: current})
            columns = DatasetColumns(
                utility_columns=DatasetUtilityColumns(date=None, id=None, target=None, prediction=None),
                target_type=None,
                task=None,
                num_feature_names=[name] if kind == "numeric" else [],
                cat_feature_names=[name] if kind == "categorical" else [],
                text_feature_names=[],
                datetime_feature_names=[],
                target_names=None,
            )
            drift = get_one_column_drift(current_data=cur, reference_data=ref, column_name=name, options=DataDriftOptions(),
                                         dataset_columns=columns, column_type=column_type, agg_data=True)
            return {"name": name, "kind": kind, "reference": clean(reference) if kind == "numeric" else reference,
                    "current": clean(current) if kind == "numeric" else current, "method": method_names[drift.stattest_name],
                    "score": float(drift.drift_score), "threshold": float(drift.stattest_threshold), "drift": bool(drift.drift_detected)}

        with_missing = r(rng.normal(0, 1, 800))
        with_missing[rng.choice(800, 60, replace=False)] = np.nan
        with_missing[3] = np.inf
        cases = [
            ("ks_no_drift", "numeric", r(rng.normal(0, 1, 900)), r(rng.normal(0, 1, 700))),
            ("ks_drift", "numeric", r(rng.normal(0, 1, 900)), r(rng.normal(0.3, 1, 700))),
            ("ks_missing_values", "numeric", with_missing, r(rng.normal(0.1, 1, 500))),
            ("ks_asymptotic", "numeric", r(rng.normal(0, 1, 1000)), r(rng.normal(0.03, 1, 11000), 3)),
            ("numeric_three_values_chisquare", "numeric", np.round(rng.uniform(0, 2, 700)), np.round(rng.uniform(0, 2.3, 600))),
            ("numeric_two_values_z", "numeric", np.round(rng.uniform(0, 1, 700)), np.round(rng.uniform(0, 1, 600))),
            ("wasserstein_no_drift", "numeric", r(rng.normal(5, 2, 3000)), r(rng.normal(5.05, 2, 2000))),
            ("wasserstein_drift", "numeric", r(rng.normal(5, 2, 3000)), r(rng.normal(5.5, 2, 2000))),
            ("large_numeric_few_values_jensenshannon", "numeric", np.round(rng.uniform(0, 3, 2000)), np.round(rng.uniform(0, 3.5, 2000))),
            ("categorical_chisquare", "categorical", labels([0.4, 0.3, 0.3], 900), labels([0.3, 0.3, 0.4], 600)),
            ("categorical_z", "categorical", labels([0.8, 0.2], 900), labels([0.78, 0.22], 600)),
            ("categorical_unseen", "categorical", labels([0.5, 0.5], 500), labels([0.45, 0.45, 0.1], 400)),
            ("categorical_jensenshannon_drift", "categorical", labels([0.4, 0.3, 0.2, 0.1], 5000), labels([0.1, 0.2, 0.3, 0.4], 3000)),
            ("categorical_jensenshannon_no_drift", "categorical", labels([0.4, 0.3, 0.2, 0.1], 5000), labels([0.39, 0.31, 0.2, 0.1], 3000)),
        ]
        for name, kind, reference, current in cases:
            if kind == "numeric":
                reference, current = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
            fixtures["evidently"].append(evidently_column(name, kind, reference, current))

    with open(OUT, "w") as f:
        json.dump(fixtures, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT) // 1024} KiB)")


if __name__ == "__main__":
    # Evidently sums over Python sets of categories, whose order follows the per-process string hash seed; a fixed
    # seed makes the last bits of its scores, and so this file, the same on every run.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    main()
