"""MLflow side of the serving benchmark: save the same ONNX model as an MLflow model directory (mlflow.onnx
flavor, pyfunc entry), then serve it with `mlflow models serve --env-manager local`.

A model directory rather than a tracking run: serving needs nothing from a tracking store, and MLflow 3 refuses the
file-based store unless told otherwise. Usage: python mlflow_serve.py <model.onnx> <work_dir> <port> <workers>.
Needs `pip install mlflow onnx onnxruntime` in the interpreter that runs this (bench/.venv, see bench/serving/RESULTS.md).
"""
import os
import shutil
import sys

import mlflow
import mlflow.onnx
import onnx


def main() -> None:
    model_path, work_dir, port, workers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    saved = os.path.join(os.path.abspath(work_dir), "model")
    mlflow.onnx.save_model(onnx.load(model_path), saved)
    print(f"saved {saved} (mlflow {mlflow.__version__})", flush=True)
    # `mlflow models serve` starts `uvicorn` by name: the interpreter's own bin directory must come first on PATH.
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", saved, "--env-manager", "local", "-h", "127.0.0.1", "-p", port, "-w", workers]
    # exec, so the benchmark's SIGTERM reaches the server itself
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
