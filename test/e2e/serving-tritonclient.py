"""Open Inference Protocol conformance with a real third-party client: NVIDIA's tritonclient.http against mlcycle.

Run by test/e2e/serving-inference.test.ts with one argument, a JSON file:
  {url, key, model, features: [{name, kind}], records: [{col: value}], expected: {labels, probabilities},
   expected_v1: {labels}}
Exercises health, server and model metadata, model readiness, inference with binary tensors (the client's default)
and with JSON tensors, BYTES inputs, requested outputs, explicit versions, request ids and server errors. Prints
one JSON line with what it saw; exits non-zero on the first mismatch.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def inputs_for(features, records, binary):
    out = []
    for f in features:
        if f["kind"] == "numeric":
            arr = np.array([[np.nan if r[f["name"]] is None else r[f["name"]]] for r in records], dtype=np.float32)
            t = httpclient.InferInput(f["name"], list(arr.shape), "FP32")
        else:
            arr = np.array([["" if r[f["name"]] is None else str(r[f["name"]])] for r in records], dtype=object)
            t = httpclient.InferInput(f["name"], list(arr.shape), "BYTES")
        t.set_data_from_numpy(arr, binary_data=binary)
        out.append(t)
    return out


def main():
    spec = json.load(open(sys.argv[1]))
    auth = {"Authorization": "Bearer " + spec["key"]}

    # tritonclient adds Inference-Header-Content-Length to the headers dict it is given (and keeps it there), so
    # every call gets a fresh one.
    def fresh():
        return dict(auth)

    client = httpclient.InferenceServerClient(url=spec["url"])
    model, features, records = spec["model"], spec["features"], spec["records"]
    seen = {}

    check(client.is_server_live(), "server not live")
    check(client.is_server_ready(), "server not ready")
    meta = client.get_server_metadata()
    check(meta["name"] == "mlcycle" and "binary_tensor_data" in meta["extensions"], f"server metadata: {meta}")
    check(client.is_model_ready(model, headers=fresh()), "model not ready")
    check(client.is_model_ready(model, model_version="2", headers=fresh()), "model version 2 not ready")
    model_meta = client.get_model_metadata(model, headers=fresh())
    check(model_meta["platform"] == "onnxruntime_onnx", f"platform: {model_meta}")
    check([i["name"] for i in model_meta["inputs"]] == [f["name"] for f in features], f"inputs: {model_meta['inputs']}")
    seen["metadata"] = model_meta

    expected_labels = spec["expected"]["labels"]
    expected_proba = np.array(spec["expected"]["probabilities"], dtype=np.float32).reshape(len(records), -1)

    # The client's defaults: binary input tensors, all outputs as binary.
    result = client.infer(model, inputs_for(features, records, True), headers=fresh(), request_id="tc-binary")
    labels = [x.decode() if isinstance(x, bytes) else str(x) for x in result.as_numpy("label").reshape(-1)]
    check(labels == expected_labels, f"binary labels {labels} != {expected_labels}")
    check(np.array_equal(result.as_numpy("probabilities"), expected_proba), "binary probabilities differ")
    response = result.get_response()
    check(response["id"] == "tc-binary" and response["model_version"] == "2", f"response: {response}")
    seen["binary"] = {"labels": labels, "id": response["id"]}

    # JSON tensors both ways, one requested output.
    out = [httpclient.InferRequestedOutput("probabilities", binary_data=False)]
    result = client.infer(model, inputs_for(features, records, False), outputs=out, headers=fresh(), request_id="tc-json")
    check(result.as_numpy("label") is None, "an output that was not requested came back")
    check(np.allclose(result.as_numpy("probabilities"), expected_proba, rtol=0, atol=1e-7), "JSON probabilities differ")
    seen["json"] = {"outputs": [o["name"] for o in result.get_response()["outputs"]]}

    # An explicit version bypasses routing.
    result = client.infer(model, inputs_for(features, records, True), model_version="1", headers=fresh())
    v1_labels = [x.decode() if isinstance(x, bytes) else str(x) for x in result.as_numpy("label").reshape(-1)]
    check(result.get_response()["model_version"] == "1", "explicit version was not honoured")
    check(v1_labels == spec["expected_v1"]["labels"], f"v1 labels {v1_labels} != {spec['expected_v1']['labels']}")

    # Server-side errors surface as InferenceServerException with the server's message.
    bad = httpclient.InferInput("humidity", [len(records), 1], "FP32")
    bad.set_data_from_numpy(np.zeros((len(records), 1), dtype=np.float32))
    try:
        client.infer(model, inputs_for(features, records, True) + [bad], headers=fresh())
        raise AssertionError("an unknown input was accepted")
    except InferenceServerException as e:
        check("unknown input 'humidity'" in e.message(), f"error message: {e.message()}")
        seen["error"] = e.message()
    try:
        client.infer(model, inputs_for(features, records, True))
        raise AssertionError("a request without a key was accepted")
    except InferenceServerException as e:
        check("API key" in e.message(), f"auth error message: {e.message()}")

    print(json.dumps({"ok": True, "seen": seen}))


if __name__ == "__main__":
    main()
