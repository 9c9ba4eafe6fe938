"""bench:serve's MLServer peer: an ONNX model on onnxruntime as a custom MLServer runtime.

MLServer's documented pattern for a framework it has no runtime for: a class
extending mlserver.MLModel with load() and predict(), named by the
`implementation` field of the model-settings.json beside it, and served with
`mlserver start <this folder>` (REST and gRPC). The request and response go
through MLServer's own NumpyCodec, as a user's runtime would.

onnxruntime runs with one intra-op and one inter-op thread, like
`fluxora serve`'s default (--intra-op-threads 1) and the benchmark's
in-process limit.
"""

import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OnnxRuntime(MLModel):
    async def load(self) -> bool:
        path = await get_model_uri(self._settings)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        self._outputs = [o.name for o in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feeds = {i.name: NumpyCodec.decode_input(i) for i in payload.inputs}
        results = self._session.run(self._outputs, feeds)
        return InferenceResponse(
            id=payload.id,
            model_name=self.name,
            model_version=self.version,
            outputs=[NumpyCodec.encode_output(name, value) for name, value in zip(self._outputs, results)],
        )
