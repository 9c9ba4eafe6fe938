#!/usr/bin/env python3
"""A Fluxora container trainer written with scikit-learn and skl2onnx.

It follows the trainer contract the operator hands every trainer image
(see DESIGN.md and src/controllers/retrain-job/job.ts), and nothing else:

  FLUXORA_DATASET_URI   the training data: CSV or JSON Lines (optionally .gz)
                        at s3://, http(s)://, file:// or pvc://
  FLUXORA_OUTPUT_URI    a fresh prefix ending in "/": model.onnx and
                        metrics.json are written under it
  FLUXORA_SERVING_URI   the model.onnx served now (may be empty): evaluated on
                        the same holdout, so the gate compares like with like
                        (when it cannot be, metrics.json says why in
                        "servingError" and the run goes on)
  FLUXORA_MODEL_NAME    the Model's name (recorded in the ONNX metadata)
  FLUXORA_FEATURES      JSON [{"name", "type"}] from the Model, in the order
                        the served model takes them
  AWS_*                 S3 settings from the credentials Secret (envFrom)

and this trainer's own settings, set under trainer.container.env:

  TARGET_COLUMN         column holding the label (required)
  TASK                  classification (binary; default) or regression
  ALGORITHM             logistic | linear (default) or gradient_boosting
  VALIDATION_SPLIT      fraction of rows held out for the metrics (default 0.2)
  SEED                  random seed (default 42)
  DATASET_FORMAT        csv or jsonl, when the file name does not tell

The exported model has the serving layout Fluxora expects: ONE float input
of shape [batch, n_features] (the Model's features as columns, in order)
and ONE float output of shape [batch, 1]: the positive-class probability
for a classifier, the prediction for a regressor. When a model is served
already, its input and output names are reused, so a promoted version is a
drop-in replacement for clients that address tensors by name.

Exit status: 0 on success, 1 when the data or a model is unusable, 2 when
the configuration is wrong. The reason is printed on stderr in one line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass

import numpy as np

PROG = "sklearn-trainer"
FEATURE_NAME_TYPES = ("numeric", "categorical")
# pandas' default missing markers, as Fluxora's drift engine reads them: a
# cell holding one of these is missing, not a bad number.
MISSING = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
           "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
POSITIVE_LABELS = {"1", "1.0", "true", "yes"}
NEGATIVE_LABELS = {"0", "0.0", "false", "no"}
DEFAULT_INPUT_NAME = "x"  # what Fluxora's own ONNX builder names the input
DEFAULT_OUTPUT_NAME = {"classification": "probability", "regression": "y"}
# Opsets onnxruntime has supported for years: the image's onnxruntime and the
# serving pods' onnxruntime-node need not be the same release.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
MIN_ROWS = 10


class ConfigError(Exception):
    """The environment is wrong: exit 2."""


class DataError(Exception):
    """The data set or a model cannot be used: exit 1."""


# --------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class Feature:
    name: str
    type: str


@dataclass(frozen=True)
class Config:
    dataset_uri: str
    output_uri: str
    serving_uri: str
    model_name: str
    features: list[Feature]
    target: str
    task: str
    algorithm: str
    validation_split: float
    seed: int
    dataset_format: str


def required_env(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set (the operator sets it in the trainer Job)")
    return value


def parse_features(text: str) -> list[Feature]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"FLUXORA_FEATURES is not valid JSON: {e}") from e
    if not isinstance(raw, list) or not raw:
        raise ConfigError('FLUXORA_FEATURES must be a non-empty JSON array of {"name", "type"}')
    features = []
    for i, f in enumerate(raw):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
            raise ConfigError(f'FLUXORA_FEATURES[{i}] needs a non-empty string "name"')
        if f.get("type") not in FEATURE_NAME_TYPES:
            raise ConfigError(f'FLUXORA_FEATURES[{i}] ("{f["name"]}"): type must be numeric or categorical')
        features.append(Feature(f["name"], f["type"]))
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise ConfigError(f"FLUXORA_FEATURES has duplicate names: {names}")
    return features


def load_config(env: dict[str, str]) -> Config:
    output_uri = required_env(env, "FLUXORA_OUTPUT_URI")
    if not output_uri.endswith("/"):
        raise ConfigError(f'FLUXORA_OUTPUT_URI must be a prefix ending in "/", got "{output_uri}"')
    task = env.get("TASK", "classification").strip() or "classification"
    if task not in ("classification", "regression"):
        raise ConfigError(f'TASK must be classification or regression, got "{task}"')
    default_algorithm = "logistic" if task == "classification" else "linear"
    algorithm = env.get("ALGORITHM", default_algorithm).strip() or default_algorithm
    allowed = (default_algorithm, "gradient_boosting")
    if algorithm not in allowed:
        raise ConfigError(f'ALGORITHM for {task} must be one of {", ".join(allowed)}, got "{algorithm}"')
    try:
        split = float(env.get("VALIDATION_SPLIT", "0.2"))
    except ValueError as e:
        raise ConfigError(f"VALIDATION_SPLIT is not a number: {e}") from e
    if not 0 < split < 1:
        raise ConfigError(f"VALIDATION_SPLIT must be strictly between 0 and 1, got {split}")
    try:
        seed = int(env.get("SEED", "42"))
    except ValueError as e:
        raise ConfigError(f"SEED is not an integer: {e}") from e
    if not 0 <= seed <= 2**31 - 1:
        raise ConfigError(f"SEED must be between 0 and 2147483647, got {seed}")
    dataset_uri = required_env(env, "FLUXORA_DATASET_URI")
    dataset_format = env.get("DATASET_FORMAT", "").strip().lower() or format_from_name(dataset_uri)
    if dataset_format not in ("csv", "jsonl"):
        raise ConfigError(f"cannot tell CSV from JSON Lines by the name of {dataset_uri}; set DATASET_FORMAT to csv or jsonl")
    target = required_env(env, "TARGET_COLUMN")
    features = parse_features(required_env(env, "FLUXORA_FEATURES"))
    if target in {f.name for f in features}:
        raise ConfigError(f'TARGET_COLUMN "{target}" is also one of the Model\'s features')
    return Config(
        dataset_uri=dataset_uri,
        output_uri=output_uri,
        serving_uri=env.get("FLUXORA_SERVING_URI", "").strip(),
        model_name=env.get("FLUXORA_MODEL_NAME", "").strip() or "model",
        features=features,
        target=target,
        task=task,
        algorithm=algorithm,
        validation_split=split,
        seed=seed,
        dataset_format=dataset_format,
    )


def format_from_name(uri: str) -> str:
    path = urllib.parse.urlsplit(uri).path.lower().removesuffix(".gz")
    if path.endswith(".csv"):
        return "csv"
    if path.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return ""


# --------------------------------------------------------------------------
# Storage: the same URIs and S3 settings as Fluxora's own storage module


def s3_client():
    # Imported here so a trainer reading only file:// or http(s):// data does
    # not pay for boto3's import time.
    import boto3
    from botocore.config import Config as BotoConfig

    env = os.environ
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    path_style_env = (env.get("AWS_S3_FORCE_PATH_STYLE") or "").lower()
    # A custom endpoint almost always means an S3-compatible store (MinIO, Ceph), and those want path style.
    path_style = path_style_env == "true" if path_style_env else endpoint is not None
    config = BotoConfig(
        s3={"addressing_style": "path" if path_style else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        # Several S3-compatible stores refuse the newer default checksums.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


def split_s3(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise ConfigError(f'"{uri}" must name a bucket and a key: s3://bucket/key')
    return bucket, key


def local_path(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f'"{uri}": file URIs need an absolute path: file:///path (three slashes)')
        return urllib.parse.unquote(parts.path)
    # pvc://claim/path: the claim is mounted under the pvc root, as in Fluxora's own pods.
    claim, _, path = uri[len("pvc://"):].partition("/")
    if not claim or ".." in path.split("/"):
        raise ConfigError(f'"{uri}" is not a valid pvc://claim/path URI')
    root = os.environ.get("FLUXORA_PVC_ROOT") or "/mnt/fluxora/pvc"
    if not os.path.isdir(os.path.join(root, claim)):
        raise DataError(f'{uri}: PersistentVolumeClaim "{claim}" is not mounted at {os.path.join(root, claim)}')
    return os.path.join(root, claim, path)


def scheme_of(uri: str) -> str:
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme not in ("s3", "http", "https", "file", "pvc"):
        raise ConfigError(f'"{uri}": unsupported storage URI; expected s3://, http(s)://, file:// or pvc://')
    return scheme


def read_uri(uri: str) -> bytes:
    scheme = scheme_of(uri)
    try:
        if scheme == "s3":
            bucket, key = split_s3(uri)
            return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        if scheme in ("http", "https"):
            with urllib.request.urlopen(uri, timeout=60) as res:
                return res.read()
        with open(local_path(uri), "rb") as f:
            return f.read()
    except (ConfigError, DataError):
        raise
    except Exception as e:  # botocore, urllib and OS errors all end here, named
        raise DataError(f"cannot read {uri}: {describe_error(e)}") from e


def write_uri(uri: str, data: bytes, content_type: str) -> None:
    scheme = scheme_of(uri)
    if scheme in ("http", "https"):
        raise ConfigError(f"{uri}: http(s) is read only; the output must be s3://, file:// or pvc://")
    try:
        if scheme == "s3":
            bucket, key = split_s3(uri)
            s3_client().put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
            return
        path = local_path(uri)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # A temporary name renamed into place: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".", suffix=".fluxora-tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except (ConfigError, DataError):
        raise
    except Exception as e:
        raise DataError(f"cannot write {uri}: {describe_error(e)}") from e


def describe_error(e: Exception) -> str:
    # botocore's ClientError carries the store's error code (NoSuchKey, AccessDenied, ...).
    response = getattr(e, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{code}: {e}" if code else f"{type(e).__name__}: {e}"


# --------------------------------------------------------------------------
# Data


def decode(data: bytes, uri: str) -> str:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except OSError as e:
            raise DataError(f"{uri}: not a valid gzip file: {e}") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{uri}: not UTF-8 text: {e}") from e


def read_records(text: str, fmt: str, uri: str) -> tuple[list[str], list[tuple[int, dict[str, object]]]]:
    """Rows as (line number, {column: cell}); cells are strings (CSV) or JSON values."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        columns = list(reader.fieldnames or [])
        if not columns:
            raise DataError(f"{uri}: the data set is empty (no header row)")
        rows = []
        for row in reader:
            if None in row:
                raise DataError(f"{uri} line {reader.line_num}: more cells than the header has columns")
            rows.append((reader.line_num, row))
        return columns, rows
    columns: dict[str, None] = {}
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{uri} line {n}: not valid JSON: {e.msg}") from e
        if not isinstance(obj, dict):
            raise DataError(f"{uri} line {n}: expected a JSON object of column to value")
        columns.update(dict.fromkeys(obj))
        rows.append((n, obj))
    return list(columns), rows


def as_number(cell: object) -> float | None:
    """A finite number, None when missing; raises ValueError (TypeError for a JSON type) when it is not a number."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(cell, (int, float)):
        value = float(cell)
    elif isinstance(cell, str):
        if cell.strip() in MISSING:
            return None
        value = float(cell.strip())
    else:
        raise TypeError(f"{json.dumps(cell)} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{cell!r} is not finite")
    return value


def as_binary_label(cell: object) -> int | None:
    if cell is None:
        return None
    text = str(cell).strip().lower() if not isinstance(cell, bool) else str(cell).lower()
    if text in POSITIVE_LABELS:
        return 1
    if text in NEGATIVE_LABELS:
        return 0
    if str(cell).strip() in MISSING:
        return None
    raise ValueError(f"{cell!r} is not a binary label (0/1, true/false, yes/no)")


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # float32 [rows, features]
    y: np.ndarray  # int64 labels or float64 values
    sha256: str


def load_dataset(cfg: Config) -> Dataset:
    raw = read_uri(cfg.dataset_uri)
    uri = cfg.dataset_uri
    columns, records = read_records(decode(raw, uri), cfg.dataset_format, uri)
    wanted = [f.name for f in cfg.features] + [cfg.target]
    missing = [c for c in wanted if c not in columns]
    if missing:
        what = "target column" if missing == [cfg.target] else "columns"
        raise DataError(f'{uri}: the data set has no {what} {", ".join(repr(m) for m in missing)} (its columns: {", ".join(columns) or "none"})')
    if not records:
        raise DataError(f"{uri}: the data set has a header but no rows")
    x = np.empty((len(records), len(cfg.features)), dtype=np.float32)
    y = np.empty(len(records), dtype=np.int64 if cfg.task == "classification" else np.float64)
    for i, (line, row) in enumerate(records):
        for j, f in enumerate(cfg.features):
            cell = row.get(f.name)
            try:
                value = as_number(cell)
            except (ValueError, TypeError) as e:
                hint = " (categorical features must be numeric codes: the served model takes one float input)" if f.type == "categorical" else ""
                raise DataError(f"{uri} line {line}: feature '{f.name}' is not numeric: {e}{hint}") from e
            if value is None:
                raise DataError(f"{uri} line {line}: feature '{f.name}' is missing; fill or drop such rows before training")
            x[i, j] = value
        cell = row.get(cfg.target)
        try:
            label = as_binary_label(cell) if cfg.task == "classification" else as_number(cell)
        except (ValueError, TypeError) as e:
            raise DataError(f"{uri} line {line}: target '{cfg.target}': {e}") from e
        if label is None:
            raise DataError(f"{uri} line {line}: target '{cfg.target}' is missing")
        y[i] = label
    if len(records) < MIN_ROWS:
        raise DataError(f"{uri}: {len(records)} rows are too few to train and hold out a validation split (at least {MIN_ROWS})")
    if cfg.task == "classification" and len(np.unique(y)) < 2:
        raise DataError(f"{uri}: target '{cfg.target}' has a single class ({int(y[0])}); a classifier needs both")
    return Dataset(x=x, y=y, sha256=hashlib.sha256(raw).hexdigest())


# --------------------------------------------------------------------------
# Model


def build_pipeline(cfg: Config):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [i for i, f in enumerate(cfg.features) if f.type == "numeric"]
    categorical = [i for i, f in enumerate(cfg.features) if f.type == "categorical"]
    parts = []
    if numeric:
        # Trees split on raw values: scaling them would only add float32 rounding (in the ONNX graph)
        # right before the thresholds, where it can flip a split.
        trees = cfg.algorithm == "gradient_boosting"
        parts.append(("numeric", "passthrough" if trees else StandardScaler(), numeric))
    if categorical:
        # Codes never seen in training encode as all zeros instead of failing at serving time.
        parts.append(("categorical", OneHotEncoder(handle_unknown="ignore"), categorical))
    estimator = {
        ("classification", "logistic"): lambda: LogisticRegression(max_iter=1000, random_state=cfg.seed),
        ("classification", "gradient_boosting"): lambda: GradientBoostingClassifier(random_state=cfg.seed),
        ("regression", "linear"): LinearRegression,
        ("regression", "gradient_boosting"): lambda: GradientBoostingRegressor(random_state=cfg.seed),
    }[(cfg.task, cfg.algorithm)]()
    return Pipeline([("prepare", ColumnTransformer(parts)), ("estimator", estimator)])


def export_onnx(pipeline, cfg: Config, input_name: str, output_name: str, data_sha256: str) -> bytes:
    """The fitted pipeline as ONNX in the serving layout: one float input, one [batch, 1] float output."""
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    n = len(cfg.features)
    estimator = pipeline.named_steps["estimator"]
    options = {id(estimator): {"zipmap": False}} if cfg.task == "classification" else None
    model = convert_sklearn(
        pipeline,
        initial_types=[(input_name, FloatTensorType([None, n]))],
        options=options,
        target_opset=TARGET_OPSET,
    )
    graph = model.graph
    if cfg.task == "classification":
        # skl2onnx gives label + probabilities [batch, 2]; serve column 1, the positive class.
        source = next(o.name for o in graph.output if o.name == "probabilities")
        graph.initializer.extend([
            helper.make_tensor("positive_start", TensorProto.INT64, [1], [1]),
            helper.make_tensor("positive_end", TensorProto.INT64, [1], [2]),
            helper.make_tensor("positive_axis", TensorProto.INT64, [1], [1]),
        ])
        graph.node.append(helper.make_node("Slice", [source, "positive_start", "positive_end", "positive_axis"], [output_name], name="positive_class"))
    else:
        source = graph.output[0].name
        graph.node.append(helper.make_node("Identity", [source], [output_name], name="prediction"))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", 1]))
    graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    model.doc_string = f"{cfg.model_name}: {cfg.algorithm} {cfg.task} on {', '.join(f.name for f in cfg.features)}"
    for key, value in {
        "fluxora.trainer": PROG,
        "fluxora.model": cfg.model_name,
        "fluxora.features": json.dumps([asdict(f) for f in cfg.features]),
        "fluxora.target": cfg.target,
        "fluxora.dataset_sha256": data_sha256,
    }.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def session_of(model_bytes: bytes, what: str):
    import onnxruntime as ort

    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise DataError(f"{what} does not load in onnxruntime: {e}") from e


def single_input(session, n_features: int, what: str):
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise DataError(f"{what} has {len(inputs)} inputs; the serving layout is one [batch, {n_features}] input")
    spec = inputs[0]
    width = spec.shape[1] if len(spec.shape) == 2 else None
    if len(spec.shape) != 2 or (isinstance(width, int) and width != n_features):
        raise DataError(f"{what} takes input '{spec.name}' of shape {spec.shape}; the Model's {n_features} features need [batch, {n_features}]")
    if spec.type not in ("tensor(float)", "tensor(double)"):
        raise DataError(f"{what} takes {spec.type}; the serving layout is a float tensor")
    return spec


def predict(session, x: np.ndarray, task: str, what: str) -> np.ndarray:
    """One score per row: the positive-class probability of a classifier, the value of a regressor."""
    spec = single_input(session, x.shape[1], what)
    feed = {spec.name: x.astype(np.float64 if spec.type == "tensor(double)" else np.float32)}
    outputs = session.get_outputs()
    # Prefer an output that says it holds probabilities; a classifier may also output labels.
    ordered = sorted(outputs, key=lambda o: 0 if "prob" in o.name.lower() else 1)
    results = dict(zip([o.name for o in outputs], session.run(None, feed)))
    for out in ordered:
        value = results[out.name]
        if isinstance(value, list) and value and isinstance(value[0], dict):  # a ZipMap: [{label: p}]
            key = next((k for k in (1, "1", True, "true") if k in value[0]), None)
            if key is None:
                continue
            scores = np.array([row[key] for row in value], dtype=np.float64)
        else:
            arr = np.asarray(value)
            if arr.dtype.kind != "f" or arr.shape[:1] != (x.shape[0],):
                continue
            arr = arr.reshape(x.shape[0], -1)
            if arr.shape[1] not in (1, 2):
                continue
            scores = arr[:, -1].astype(np.float64)  # [batch, 2]: column 1 is the positive class
        if task == "classification" and (np.any(scores < 0) or np.any(scores > 1) or not np.all(np.isfinite(scores))):
            raise DataError(f"{what}: output '{out.name}' is not a probability in [0, 1]")
        return scores
    raise DataError(f"{what} has no float output with one score per row (outputs: {', '.join(o.name for o in outputs)})")


def serving_names(session, task: str) -> tuple[str, str]:
    """Input and output names of the served model, so the new version answers to the same names."""
    outputs = session.get_outputs()
    input_name = session.get_inputs()[0].name
    output_name = outputs[0].name if len(outputs) == 1 else DEFAULT_OUTPUT_NAME[task]
    if output_name == input_name:
        output_name = DEFAULT_OUTPUT_NAME[task]
    return input_name, output_name


def metrics_of(task: str, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as m

    if task == "classification":
        predicted = (scores >= 0.5).astype(np.int64)
        return {
            "auc": float(m.roc_auc_score(y, scores)),
            "accuracy": float(m.accuracy_score(y, predicted)),
            "f1": float(m.f1_score(y, predicted, zero_division=0)),
            "precision": float(m.precision_score(y, predicted, zero_division=0)),
            "recall": float(m.recall_score(y, predicted, zero_division=0)),
            "logloss": float(m.log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1])),
        }
    mse = float(m.mean_squared_error(y, scores))
    return {"r2": float(m.r2_score(y, scores)), "rmse": math.sqrt(mse), "mae": float(m.mean_absolute_error(y, scores)), "mse": mse}


# --------------------------------------------------------------------------
# The run


def log(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def train(cfg: Config) -> dict[str, object]:
    data = load_dataset(cfg)
    log(f"read {len(data.y)} rows from {cfg.dataset_uri} (sha256 {data.sha256[:12]})")
    # Imported once the data is known to be usable: bad data fails in a fraction of the time.
    import sklearn
    from sklearn.model_selection import train_test_split

    stratify = data.y if cfg.task == "classification" else None
    try:
        x_train, x_hold, y_train, y_hold = train_test_split(
            data.x, data.y, test_size=cfg.validation_split, random_state=cfg.seed, stratify=stratify
        )
    except ValueError as e:  # e.g. a class too rare to appear on both sides
        raise DataError(f"cannot hold out {cfg.validation_split:.0%} of the rows: {e}") from e
    if cfg.task == "classification" and len(np.unique(y_hold)) < 2:
        raise DataError("the holdout has a single class; add rows or raise VALIDATION_SPLIT")

    serving = None
    serving_error = None
    input_name, output_name = DEFAULT_INPUT_NAME, DEFAULT_OUTPUT_NAME[cfg.task]
    if cfg.serving_uri:
        try:
            served = session_of(read_uri(cfg.serving_uri), f"the served model {cfg.serving_uri}")
            serving = metrics_of(cfg.task, y_hold, predict(served, x_hold, cfg.task, f"the served model {cfg.serving_uri}"))
            input_name, output_name = serving_names(served, cfg.task)
        except (ConfigError, DataError) as e:
            # Unreadable, unloadable or of another layout: the run still produces a model, the
            # reason goes into metrics.json, and the gate falls back to the serving version's
            # recorded metrics (or says it has no baseline).
            serving_error = str(e)
            log(f"warning: cannot evaluate the served model: {e}")

    pipeline = build_pipeline(cfg).fit(x_train, y_train)
    model_bytes = export_onnx(pipeline, cfg, input_name, output_name, data.sha256)
    # Metrics come from the exported model as onnxruntime runs it: what will be served.
    scores = predict(session_of(model_bytes, "the trained model"), x_hold, cfg.task, "the trained model")
    expected = pipeline.predict_proba(x_hold)[:, 1] if cfg.task == "classification" else pipeline.predict(x_hold)
    drift = float(np.max(np.abs(scores - expected)))
    tolerance = 1e-4 * max(1.0, float(np.max(np.abs(expected))))
    if drift > tolerance:
        raise DataError(f"the exported ONNX model disagrees with scikit-learn by {drift:g} (more than {tolerance:g}); not writing it")
    result: dict[str, object] = dict(metrics_of(cfg.task, y_hold, scores))
    if serving is not None:
        result["serving"] = serving
    if serving_error is not None:
        result["servingError"] = serving_error
    # Every top-level number is read as a metric, so run details nest in objects.
    result.update({
        "features": [f.name for f in cfg.features],
        "rows": {"total": len(data.y), "train": len(y_train), "holdout": len(y_hold)},
        "datasetSha256": data.sha256,
        "training": {
            "task": cfg.task,
            "algorithm": cfg.algorithm,
            "target": cfg.target,
            "seed": cfg.seed,
            "validationSplit": cfg.validation_split,
            "onnxMaxDifference": drift,
            "trainer": PROG,
            "scikit-learn": sklearn.__version__,
        },
    })
    # model.onnx first, metrics.json last: the operator reads metrics.json,
    # so a run that dies in between leaves no half-finished pair behind.
    write_uri(cfg.output_uri + "model.onnx", model_bytes, "application/octet-stream")
    write_uri(cfg.output_uri + "metrics.json", (json.dumps(result, indent=2) + "\n").encode(), "application/json")
    return result


def main() -> int:
    try:
        cfg = load_config(dict(os.environ))
        result = train(cfg)
    except ConfigError as e:
        log(f"error: {e}")
        return 2
    except DataError as e:
        log(f"error: {e}")
        return 1
    headline = {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}
    log(f"wrote {cfg.output_uri}model.onnx and metrics.json: {json.dumps(headline)}")
    if isinstance(result.get("serving"), dict):
        log(f"served model on the same holdout: {json.dumps({k: round(v, 4) for k, v in result['serving'].items()})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
