"""MLflow side of the serving benchmark: log the same ONNX model with mlflow.onnx.log_model into a file-based
tracking store of its own, then serve it with `mlflow models serve --env-manager local`.
Usage: python3 mlflow_serve.py <model.onnx> <work_dir> <port>. Needs `pip install mlflow onnx onnxruntime`."""
import os
import shutil
import sys

import mlflow
import mlflow.onnx
import onnx


def main() -> None:
    model_path, work_dir, port = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    tracking_uri = "file:" + os.path.join(os.path.abspath(work_dir), "mlruns")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run():
        info = mlflow.onnx.log_model(onnx.load(model_path), name="model")
    print(f"logged {info.model_uri}", flush=True)
    # exec, so the benchmark's SIGTERM reaches the server itself
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", info.model_uri, "--env-manager", "local", "-h", "127.0.0.1", "-p", port]
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
