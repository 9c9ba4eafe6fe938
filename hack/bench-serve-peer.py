"""The benchmark's peer for `fluxora serve`: onnxruntime behind FastAPI/uvicorn.

The common Python way to put an ONNX model behind HTTP, speaking the same V2
JSON infer request/response, in its fastest ordinary configuration: one
uvicorn worker (like one fluxora process) with uvloop and httptools, no access
log, the body read as a plain dict (no pydantic model), onnxruntime with one
intra-op thread (like fluxora's default). bench/serve.ts starts it from the
venv that test/fixtures/models/python-venv.ts builds from
hack/requirements-serve.txt.

Usage: python hack/bench-serve-peer.py --model PATH --port PORT [--name NAME]
"""

import argparse

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, HTTPException, Request

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}


def build_app(model_path: str, name: str) -> FastAPI:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(model_path, sess_options=opts, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    app = FastAPI()

    @app.get("/v2/health/ready")
    async def ready():
        return {"ready": True}

    @app.post("/v2/models/{model}/infer")
    async def infer(model: str, request: Request):
        if model != name:
            raise HTTPException(status_code=404, detail=f"unknown model {model}")
        body = await request.json()
        feeds = {
            i["name"]: np.asarray(i["data"], dtype=DTYPES[i["datatype"]]).reshape(i["shape"])
            for i in body["inputs"]
        }
        results = session.run(outputs, feeds)
        return {
            "model_name": name,
            "model_version": "1",
            "id": body.get("id", ""),
            "outputs": [
                {"name": n, "datatype": "FP32", "shape": list(v.shape), "data": v.ravel().tolist()}
                for n, v in zip(outputs, results)
            ],
        }

    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", default="bench")
    a = p.parse_args()
    uvicorn.run(
        build_app(a.model, a.name),
        host="127.0.0.1",
        port=a.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
