#!/usr/bin/env python3
"""mlcycle external trainer: a scikit-learn pipeline exported to ONNX under mlcycle's graph contract.

Contract (libs/ml/external/README.md): reads MLCYCLE_TRAIN_PATH / MLCYCLE_VALIDATION_PATH (CSV with header),
MLCYCLE_PARAMS (JSON), MLCYCLE_SPEC (JSON: task, target, features) and writes $MLCYCLE_OUTPUT_DIR/model.onnx with
one [N,1] input per feature column (float for numeric, string for categorical) and the outputs `label` +
`probabilities` (classification) or `variable` (regression), plus metrics.json.

Pipeline: ColumnTransformer(numeric: SimpleImputer → StandardScaler; categorical: OneHotEncoder(handle_unknown=
'ignore'), where a missing category is the empty string and so its own category) → LogisticRegression or Ridge.

Params: C (1.0), max_iter (1000), alpha (1.0), impute ('mean' | 'median').
Needs: scikit-learn, skl2onnx, onnx, pandas, numpy.
"""
import json
import os
import sys


def progress(fraction, message):
    # Parsed by the runner and forwarded in activity heartbeats.
    print(f"MLCYCLE_PROGRESS {fraction:.3f} {message}", flush=True)


def fail(message):
    print(f"sklearn_trainer: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def main():
    try:
        spec = json.loads(os.environ["MLCYCLE_SPEC"])
        params = json.loads(os.environ.get("MLCYCLE_PARAMS") or "{}")
        train_path = os.environ["MLCYCLE_TRAIN_PATH"]
        valid_path = os.environ["MLCYCLE_VALIDATION_PATH"]
        out_dir = os.environ["MLCYCLE_OUTPUT_DIR"]
    except KeyError as err:
        fail(f"environment variable {err} is not set; run me through mlcycle's external trainer runner")

    import numpy as np
    import pandas as pd
    import onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    known = {"C", "max_iter", "alpha", "impute"}
    unknown = sorted(set(params) - known)
    if unknown:
        fail(f"unknown parameters {unknown}; this trainer takes {sorted(known)}")

    task = spec["task"]
    target = spec["target"]
    features = spec["features"]
    numeric = [f["name"] for f in features if f["kind"] == "numeric"]
    categorical = [f["name"] for f in features if f["kind"] == "categorical"]
    classification = task != "regression"

    def load(path):
        dtypes = {c: str for c in categorical}
        if classification:
            dtypes[target] = str
        # keep_default_na=False keeps empty categorical cells as '' (the contract's missing category);
        # numeric empties become NaN through na_values.
        frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values={c: [""] for c in numeric + ([] if classification else [target])})
        missing = [c for c in numeric + categorical + [target] if c not in frame.columns]
        if missing:
            fail(f"{path} lacks columns {missing}")
        if classification:
            frame = frame[frame[target] != ""]
        else:
            frame = frame[frame[target].notna()]
        X = pd.DataFrame({f["name"]: (frame[f["name"]].astype(np.float32) if f["kind"] == "numeric" else frame[f["name"]].astype(str)) for f in features})
        y = frame[target].astype(str).to_numpy() if classification else frame[target].astype(np.float64).to_numpy()
        return X, y

    progress(0.05, "loading data")
    X_train, y_train = load(train_path)
    X_valid, y_valid = load(valid_path)
    if len(X_train) == 0:
        fail("no training rows with a target value")

    transformers = []
    if numeric:
        impute = params.get("impute", "mean")
        if impute not in ("mean", "median"):
            fail(f"impute must be 'mean' or 'median', got {impute!r}")
        transformers.append(("num", Pipeline([("impute", SimpleImputer(strategy=impute, keep_empty_features=True)), ("scale", StandardScaler())]), numeric))
    if categorical:
        transformers.append(("cat", OneHotEncoder(handle_unknown="ignore"), categorical))
    if classification:
        model = LogisticRegression(C=float(params.get("C", 1.0)), max_iter=int(params.get("max_iter", 1000)))
    else:
        model = Ridge(alpha=float(params.get("alpha", 1.0)))
    pipeline = Pipeline([("pre", ColumnTransformer(transformers)), ("model", model)])

    progress(0.2, f"fitting {type(model).__name__} on {len(X_train)} rows")
    pipeline.fit(X_train, y_train)

    metrics = {}
    if len(X_valid) > 0:
        if classification:
            metrics["accuracy"] = float((pipeline.predict(X_valid) == y_valid).mean())
        else:
            residual = pipeline.predict(X_valid) - y_valid
            metrics["rmse"] = float(np.sqrt(np.mean(residual ** 2)))

    progress(0.8, "converting to ONNX")
    initial_types = [(f["name"], FloatTensorType([None, 1]) if f["kind"] == "numeric" else StringTensorType([None, 1])) for f in features]
    # ZipMap off: the contract wants probabilities as a plain [N, C] float tensor, not a sequence of maps.
    options = {id(model): {"zipmap": False}} if classification else None
    onx = convert_sklearn(pipeline, initial_types=initial_types, options=options, target_opset={"": 17, "ai.onnx.ml": 3})

    # skl2onnx names its outputs label/probabilities/variable already; rename defensively if a version differs.
    wanted = ["label", "probabilities"] if classification else ["variable"]
    for output, name in zip(onx.graph.output, wanted):
        if output.name != name:
            old = output.name
            for node in onx.graph.node:
                node.output[:] = [name if o == old else o for o in node.output]
                node.input[:] = [name if i == old else i for i in node.input]
            output.name = name

    if classification:
        entry = onx.metadata_props.add()
        entry.key = "mlcycle.classes"
        entry.value = json.dumps([str(c) for c in model.classes_])
    os.makedirs(out_dir, exist_ok=True)
    onnx.save_model(onx, os.path.join(out_dir, "model.onnx"))
    with open(os.path.join(out_dir, "metrics.json"), "w") as fh:
        json.dump(metrics, fh)
    progress(1.0, "done")


if __name__ == "__main__":
    main()
