"""bench:serve's KServe peer: an ONNX model on onnxruntime behind KServe's Python ModelServer.

KServe's documented custom serving runtime: a kserve.Model subclass whose
load() prepares the model and sets `ready`, whose predict() takes an
InferRequest and returns an InferResponse (Open Inference Protocol V2, the
same code for REST and gRPC), started with ModelServer().start([model]) and
configured by ModelServer's own flags (--http_port, --grpc_port,
--model_name, --enable_latency_logging, ...).

onnxruntime runs with one intra-op and one inter-op thread, like
`fluxora serve`'s default (--intra-op-threads 1) and the benchmark's
in-process limit.

Usage: python onnx_model.py --model_path PATH --model_name NAME
       --http_port PORT --grpc_port PORT [other ModelServer flags]
"""

import argparse
import logging as pylogging

import onnxruntime as ort
from kserve import (
    InferOutput,
    InferRequest,
    InferResponse,
    Model,
    ModelServer,
    logging,
    model_server,
)
from kserve.utils.numpy_codec import from_np_dtype
from kserve.utils.utils import generate_uuid


class OnnxModel(Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.path, sess_options=options, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.ready = True
        return self.ready

    async def predict(self, payload: InferRequest, headers: dict | None = None) -> InferResponse:
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        outputs = []
        for name, value in zip(self.output_names, self.session.run(self.output_names, feeds)):
            out = InferOutput(name=name, shape=list(value.shape), datatype=from_np_dtype(value.dtype))
            out.set_data_from_numpy(value, binary_data=payload.use_binary_outputs)
            outputs.append(out)
        return InferResponse(
            response_id=payload.id or generate_uuid(),
            model_name=self.name,
            infer_outputs=outputs,
            use_binary_outputs=payload.use_binary_outputs,
        )


parser = argparse.ArgumentParser(parents=[model_server.parser])
parser.add_argument("--model_path", required=True, help="the ONNX file")
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    if args.configure_logging:
        logging.configure_logging(args.log_config_file)
    # No log line per request in any system the benchmark measures (fluxora
    # serve writes none): bench/serve.ts passes --enable_latency_logging false,
    # and the two loggers KServe's log config sets to INFO that write one line
    # per request (uvicorn's access log, the kserve.trace timings) go to WARNING.
    for name in ("uvicorn.access", "kserve.trace"):
        pylogging.getLogger(name).setLevel(pylogging.WARNING)
    ModelServer().start([OnnxModel(args.model_name, args.model_path)])
