#!/usr/bin/env python3
"""Peers for bench/drift: the data, Evidently's DataDriftPreset and SciPy per column, on the files mlcycle reads.

  python3 peers.py generate <dir>                       write the reference and current tables as Parquet
  python3 peers.py evidently <reference> <current>      Report([DataDriftPreset()]) once; print one JSON line
  python3 peers.py scipy <reference> <current> [N]      SciPy per column, N runs; print one JSON line

Timings cover the drift computation only: reading Parquet, building DataFrames and Evidently's Dataset are done
before the clock starts. Memory is the process's peak RSS (ru_maxrss), reported after loading and at the end.
"""
import json
import resource
import sys
import time

COLUMNS = 20
NUMERIC = [
    "n01_normal", "n02_normal_shifted", "n03_lognormal", "n04_lognormal_wider", "n05_uniform", "n06_uniform_nudged",
    "n07_exponential_missing", "n08_exponential_missing_shifted", "n09_four_values", "n10_four_values_shifted",
    "n11_binary", "n12_integers_0_49",
]
CATEGORICAL = [
    "c01_yes_no", "c02_yes_no_shifted", "c03_three", "c04_five_shifted", "c05_ten", "c06_fifty_zipf",
    "c07_new_category", "c08_missing",
]
assert len(NUMERIC) + len(CATEGORICAL) == COLUMNS


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def make_table(rng, rows, current):
    """One table; `current` applies the shifts (8 of the 20 columns move, by different amounts)."""
    import numpy as np
    import pandas as pd

    s = 1 if current else 0

    def with_missing(values, share):
        values = values.copy()
        values[rng.random(rows) < share] = np.nan
        return values

    def pick(labels, p):
        return rng.choice(np.array(labels, dtype=object), size=rows, p=np.asarray(p) / np.sum(p))

    zipf = 1 / np.arange(1, 51)
    data = {
        "n01_normal": rng.normal(0, 1, rows),
        "n02_normal_shifted": rng.normal(0.25 * s, 1, rows),
        "n03_lognormal": rng.lognormal(0, 1, rows),
        "n04_lognormal_wider": rng.lognormal(0, 1 + 0.25 * s, rows),
        "n05_uniform": rng.uniform(0, 100, rows),
        "n06_uniform_nudged": rng.uniform(3 * s, 100 + 3 * s, rows),
        "n07_exponential_missing": with_missing(rng.exponential(2, rows), 0.05),
        "n08_exponential_missing_shifted": with_missing(rng.exponential(2 + 0.4 * s, rows), 0.05 + 0.05 * s),
        "n09_four_values": rng.choice([0.0, 1.0, 2.0, 3.0], rows, p=[0.4, 0.3, 0.2, 0.1]),
        "n10_four_values_shifted": rng.choice([0.0, 1.0, 2.0, 3.0], rows, p=[0.4 - 0.1 * s, 0.3, 0.2, 0.1 + 0.1 * s]),
        "n11_binary": rng.choice([0.0, 1.0], rows, p=[0.8, 0.2]),
        "n12_integers_0_49": rng.integers(0, 50, rows).astype(np.float64),
        "c01_yes_no": pick(["yes", "no"], [0.7, 0.3]),
        "c02_yes_no_shifted": pick(["yes", "no"], [0.7 - 0.06 * s, 0.3 + 0.06 * s]),
        "c03_three": pick(["red", "green", "blue"], [0.5, 0.3, 0.2]),
        "c04_five_shifted": pick(["a", "b", "c", "d", "e"], [0.3 - 0.1 * s, 0.25, 0.2, 0.15, 0.1 + 0.1 * s]),
        "c05_ten": pick([f"k{i}" for i in range(10)], np.ones(10)),
        "c06_fifty_zipf": pick([f"z{i:02d}" for i in range(50)], zipf),
        "c07_new_category": pick(["w", "x", "y", "z", "new"], [0.25, 0.25, 0.25, 0.25 - 0.03 * s, 0.03 * s]),
        "c08_missing": pick(["p", "q", "r", "s", "t", "u"], np.ones(6)),
    }
    frame = pd.DataFrame(data)
    frame.loc[rng.random(rows) < 0.1, "c08_missing"] = None
    return frame


def generate(out_dir):
    import os

    import numpy as np

    os.makedirs(out_dir, exist_ok=True)
    tables = {
        "reference_1m": (1_000_000, False, 1),
        "current_1m": (1_000_000, True, 2),
        "reference_1k": (1_000, False, 3),
        "current_5k": (5_000, True, 4),
    }
    for name, (rows, current, seed) in tables.items():
        path = os.path.join(out_dir, f"{name}.parquet")
        if not os.path.exists(path):
            make_table(np.random.default_rng(seed), rows, current).to_parquet(path, index=False, compression="snappy")
    print(json.dumps({"numeric": NUMERIC, "categorical": CATEGORICAL, "tables": list(tables)}))


def load(path):
    import pandas as pd

    frame = pd.read_parquet(path)
    for c in NUMERIC:
        frame[c] = frame[c].astype("float64")
    return frame


def versions():
    import platform

    import numpy
    import pandas
    import scipy

    out = {"python": platform.python_version(), "numpy": numpy.__version__, "pandas": pandas.__version__, "scipy": scipy.__version__}
    try:
        import evidently

        out["evidently"] = evidently.__version__
    except ImportError:
        out["evidently"] = None
    return out


# Evidently names its tests by display name; these are the registered names mlcycle uses.
METHOD_NAMES = {"K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
                "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon", "PSI": "psi"}


def run_evidently(reference_path, current_path):
    import warnings

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    warnings.filterwarnings("ignore")
    reference, current = load(reference_path), load(current_path)
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    ref_ds = Dataset.from_pandas(reference, data_definition=definition)
    cur_ds = Dataset.from_pandas(current, data_definition=definition)
    rss_loaded = peak_rss_mib()
    report = Report([DataDriftPreset()], include_tests=True)
    start = time.perf_counter()
    snapshot = report.run(cur_ds, ref_ds)
    seconds = time.perf_counter() - start
    result = snapshot.dict()
    columns = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            columns[config["column"]] = {"method": METHOD_NAMES.get(config["method"], config["method"]), "score": float(metric["value"]), "threshold": config["threshold"]}
        elif config["type"].endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
    for test in result["tests"]:
        if test["id"] == "drift":
            columns[test["metric_config"]["params"]["column"]]["drift"] = test["status"] == "FAIL"
    print(json.dumps({"peer": "evidently", "seconds": seconds, "rss_loaded_mib": rss_loaded, "rss_peak_mib": peak_rss_mib(),
                      "dataset_drift": share >= 0.5, "columns": columns, "versions": versions()}))


def run_scipy(reference_path, current_path, repeats):
    """Per column, the test Evidently would pick, computed with SciPy/numpy directly (missing values dropped)."""
    import numpy as np
    import pandas as pd
    from scipy import stats
    from scipy.spatial import distance

    reference, current = load(reference_path), load(current_path)
    ref_cols = {c: reference[c].to_numpy() for c in NUMERIC + CATEGORICAL}
    cur_cols = {c: current[c].to_numpy() for c in NUMERIC + CATEGORICAL}
    del reference, current
    rss_loaded = peak_rss_mib()

    def category_counts(values, numeric):
        if numeric:  # few-valued numeric column, NaN already dropped
            return np.unique(values, return_counts=True)
        counts = pd.Series(values).value_counts(dropna=True)  # a hash count: faster than sorting strings
        order = np.argsort(counts.index.to_numpy().astype(str))
        return counts.index.to_numpy().astype(str)[order], counts.to_numpy()[order]

    def aligned(ref_keys, ref_counts, cur_keys, cur_counts):
        keys = np.union1d(ref_keys, cur_keys)
        r = np.zeros(len(keys))
        c = np.zeros(len(keys))
        r[np.searchsorted(keys, ref_keys)] = ref_counts
        c[np.searchsorted(keys, cur_keys)] = cur_counts
        return keys, r, c

    def column(name):
        numeric = name in NUMERIC
        ref, cur = ref_cols[name], cur_cols[name]
        if numeric:
            ref = ref[np.isfinite(ref)]
            cur = cur[np.isfinite(cur)]
            few = len(np.unique(np.concatenate([ref, cur]))) <= 5
        if not numeric or few:
            ref_keys, ref_counts = category_counts(ref, numeric)
            cur_keys, cur_counts = category_counts(cur, numeric)
            keys, r, c = aligned(ref_keys, ref_counts, cur_keys, cur_counts)
            n_ref, n_cur = r.sum(), c.sum()
            if n_ref > 1000:
                score = float(distance.jensenshannon(r / n_ref, c / n_cur))
                return "jensenshannon", score, score >= 0.1
            if len(keys) > 2:
                with np.errstate(divide="ignore"):
                    p = float(stats.chisquare(c, r * (n_cur / n_ref)).pvalue)
                return "chisquare", p, p < 0.05
            p1, p2 = (n_ref - r[0]) / n_ref, (n_cur - c[0]) / n_cur
            pooled = (p1 * n_ref + p2 * n_cur) / (n_ref + n_cur)
            z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur))
            p = float(2 * stats.norm.sf(abs(z)))
            return "z", p, p < 0.05
        if len(ref) > 1000:
            score = float(stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))
            return "wasserstein", score, score >= 0.1
        p = float(stats.ks_2samp(ref, cur).pvalue)
        return "ks", p, p <= 0.05

    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        columns = {}
        for name in NUMERIC + CATEGORICAL:
            t = time.perf_counter()
            method, score, drift = column(name)
            columns[name] = {"method": method, "score": score, "drift": bool(drift), "seconds": time.perf_counter() - t}
        runs.append((time.perf_counter() - start, columns))
    seconds = sorted(r[0] for r in runs)[len(runs) // 2]
    print(json.dumps({"peer": "scipy", "seconds": seconds, "first_seconds": runs[0][0], "rss_loaded_mib": rss_loaded,
                      "rss_peak_mib": peak_rss_mib(), "columns": runs[-1][1], "versions": versions()}))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command == "generate" and len(sys.argv) == 3:
        generate(sys.argv[2])
    elif command == "evidently" and len(sys.argv) == 4:
        run_evidently(sys.argv[2], sys.argv[3])
    elif command == "scipy" and len(sys.argv) in (4, 5):
        run_scipy(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else 1)
    else:
        sys.exit(__doc__)
