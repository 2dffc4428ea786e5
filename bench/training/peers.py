#!/usr/bin/env python3
"""Peer models for bench/training: scikit-learn and LightGBM on exactly the splits the TypeScript side uses.

  python3 peers.py export <dir>          write scikit-learn's bundled breast_cancer and diabetes data as CSV
  python3 peers.py run <manifest.json>   train every peer on every split, print one JSON line per result

The manifest lists datasets as {name, csv, task, target, numeric, categorical, splits: [{train, test}]}; row
indices refer to the CSV's data rows. Peers get the same features; numeric missing values are NaN, categorical
missing values the empty string (its own category), as in mlcycle's graph contract.
"""
import json
import sys
import time


def export(out_dir):
    import os
    from sklearn.datasets import load_breast_cancer, load_diabetes

    os.makedirs(out_dir, exist_ok=True)
    for name, loader in (("breast_cancer", load_breast_cancer), ("diabetes", load_diabetes)):
        data = loader(as_frame=True)
        frame = data.frame.copy()
        if name == "breast_cancer":
            frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
        frame.columns = [c.replace(" ", "_") for c in frame.columns]
        frame.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False)
    print(json.dumps({"exported": ["breast_cancer", "diabetes"]}))


def run(manifest_path):
    import warnings

    import numpy as np
    import pandas as pd
    import lightgbm as lgb
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    warnings.filterwarnings("ignore")
    manifest = json.load(open(manifest_path))
    for ds in manifest["datasets"]:
        num, cat, target = ds["numeric"], ds["categorical"], ds["target"]
        classification = ds["task"] != "regression"
        frame = pd.read_csv(ds["csv"], keep_default_na=False, na_values={c: [""] for c in num}, dtype={c: str for c in cat + ([target] if classification else [])})
        X = frame[num + cat].copy()
        for c in num:
            X[c] = X[c].astype(np.float64)
        y = frame[target].astype(str).to_numpy() if classification else frame[target].astype(np.float64).to_numpy()

        def linear():
            parts = [("num", Pipeline([("i", SimpleImputer()), ("s", StandardScaler())]), num)]
            if cat:
                parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), cat))
            model = LogisticRegression(max_iter=1000) if classification else Ridge()
            return Pipeline([("pre", ColumnTransformer(parts)), ("m", model)])

        def hgb():
            parts = [("num", "passthrough", num)]
            if cat:
                parts.append(("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), cat))
            flags = [False] * len(num) + [True] * len(cat)
            common = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, early_stopping=False, categorical_features=flags, random_state=0)
            model = HistGradientBoostingClassifier(**common) if classification else HistGradientBoostingRegressor(**common)
            return Pipeline([("pre", ColumnTransformer(parts)), ("m", model)])

        def lightgbm():
            common = dict(n_estimators=100, learning_rate=0.1, num_leaves=31, min_child_samples=20, verbose=-1, random_state=0, n_jobs=1)
            return lgb.LGBMClassifier(**common) if classification else lgb.LGBMRegressor(**common)

        for repeat, split in enumerate(ds["splits"]):
            tr, te = np.array(split["train"]), np.array(split["test"])
            for name, make in (("sklearn LogisticRegression" if classification else "sklearn Ridge", linear), ("sklearn HistGradientBoosting", hgb), ("LightGBM", lightgbm)):
                Xtr, Xte = X.iloc[tr].copy(), X.iloc[te].copy()
                if name == "LightGBM":
                    for c in cat:  # native categorical handling; test categories unseen in training become NaN
                        cats = pd.Categorical(Xtr[c]).categories
                        Xtr[c] = pd.Categorical(Xtr[c], categories=cats)
                        Xte[c] = pd.Categorical(Xte[c], categories=cats)
                model = make()
                start = time.perf_counter()
                model.fit(Xtr, y[tr])
                seconds = time.perf_counter() - start
                pred = model.predict(Xte)
                score = accuracy_score(y[te], pred) if classification else r2_score(y[te], pred)
                print(json.dumps({"dataset": ds["name"], "model": name, "repeat": repeat, "score": float(score), "seconds": seconds}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "run"):
        sys.exit(__doc__)
    export(sys.argv[2]) if sys.argv[1] == "export" else run(sys.argv[2])
