#!/usr/bin/env python3
"""The Python side of `npm run bench:drift` (bench/drift.ts), which runs it
with the python of a cached venv built from hack/requirements-drift.txt (the
versions pinned there: scipy, numpy, pandas, Evidently).

Reads the data set bench/drift.ts wrote: numeric features as float64
little-endian (one feature after another), categorical ones as uint8 codes
into their labels, reference and current files, and meta.json. Prints one
JSON object with best-of-N wall times in milliseconds and the values, so the
caller compares both.

  --peer scipy      what a Python drift check would run per numeric feature:
                    ks (scipy.stats.ks_2samp, what Evidently's "ks" calls),
                    psi (numpy: Evidently's binning and formula),
                    wasserstein (scipy.stats.wasserstein_distance / np.std(reference))
  --peer evidently  Evidently itself on pandas Series (float64; categorical
                    columns as strings, as read_csv gives them), for the
                    (feature, method, threshold) list in meta.json:
                    - its registered stattests, called one column at a time
                      (evidently.legacy.calculations.stattests, get_stattest):
                      the statistics alone, timed per method;
                    - the same as one Report of ValueDrift(column, method,
                      threshold) metrics over two Datasets (what its docs show
                      a user), timed as a whole.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
from scipy import stats


def psi_numpy(ref: np.ndarray, cur: np.ndarray) -> float:
    """Evidently's PSI for a numeric feature with more than 20 distinct values, in plain numpy."""
    bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    r = np.histogram(ref, bins)[0] / len(ref)
    c = np.histogram(cur, bins)[0] / len(cur)
    for p in (r, c):
        m = p[p != 0].min()
        np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return float(np.sum((r - c) * np.log(r / c)))


def wasserstein_numpy(ref: np.ndarray, cur: np.ndarray) -> float:
    return float(stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))


def ks_scipy(ref: np.ndarray, cur: np.ndarray) -> float:
    return float(stats.ks_2samp(ref, cur).pvalue)


def best_of(reps: int, fn):
    """Best wall time of `reps` runs (ms) and the last run's result."""
    best = float("inf")
    result = None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, (time.perf_counter() - t0) * 1000)
    return best, result


def load(data: Path, meta: dict):
    rows = meta["rows"]
    numeric, categorical = meta["numeric"], meta["categorical"]
    num = {}
    for side in ("reference", "current"):
        arr = np.fromfile(data / f"{side}.f64", dtype="<f8").reshape(len(numeric), rows)
        num[side] = {name: arr[i] for i, name in enumerate(numeric)}
    cat = {}
    for side in ("reference", "current"):
        codes = np.fromfile(data / f"{side}.cat.u8", dtype="u1").reshape(len(categorical), rows) if categorical else []
        cat[side] = {c["name"]: np.array(c["labels"], dtype=object)[codes[i]] for i, c in enumerate(categorical)}
    return num, cat


def run_scipy(num: dict, names: list[str], reps: int) -> dict:
    features = [(num["reference"][n], num["current"][n]) for n in names]
    out: dict = {"versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__}, "ms": {}, "values": {}}
    for key, fn in (("ks", ks_scipy), ("psi", psi_numpy), ("wasserstein", wasserstein_numpy)):
        out["ms"][key], out["values"][key] = best_of(reps, lambda fn=fn: [fn(r, c) for r, c in features])
    return out


# Ours -> Evidently's stattest names.
EVIDENTLY_METHOD = {"ks": "ks", "chisquare": "chisquare", "zscore": "z", "psi": "psi", "jensenshannon": "jensenshannon", "wasserstein": "wasserstein"}


def run_evidently(num: dict, cat: dict, pairs: list[dict], reps: int) -> dict:
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType
    from evidently.metrics import ValueDrift

    columns = {side: {**{k: pd.Series(v) for k, v in num[side].items()}, **{k: pd.Series(v) for k, v in cat[side].items()}} for side in ("reference", "current")}
    kind = {"numeric": ColumnType.Numerical, "categorical": ColumnType.Categorical}

    def stattest(p: dict):
        ref, cur = columns["reference"][p["feature"]], columns["current"][p["feature"]]
        test = get_stattest(ref, cur, kind[p["type"]], EVIDENTLY_METHOD[p["method"]])
        r = test(ref, cur, kind[p["type"]], p["threshold"])
        return [float(r.drift_score), bool(r.drifted)]

    out: dict = {"versions": {"evidently": evidently.__version__, "pandas": pd.__version__, "numpy": np.__version__, "scipy": scipy.__version__}, "ms": {}, "values": [None] * len(pairs)}
    for method in dict.fromkeys(p["method"] for p in pairs):
        idx = [i for i, p in enumerate(pairs) if p["method"] == method]
        out["ms"][method], results = best_of(reps, lambda idx=idx: [stattest(pairs[i]) for i in idx])
        for i, r in zip(idx, results):
            out["values"][i] = r

    frames = {side: pd.DataFrame(columns[side]) for side in ("reference", "current")}
    definition = DataDefinition(numerical_columns=list(num["reference"]), categorical_columns=list(cat["reference"]))

    def report():
        metrics = [ValueDrift(column=p["feature"], method=EVIDENTLY_METHOD[p["method"]], threshold=p["threshold"]) for p in pairs]
        current = Dataset.from_pandas(frames["current"], data_definition=definition)
        reference = Dataset.from_pandas(frames["reference"], data_definition=definition)
        snapshot = Report(metrics).run(current, reference)
        return [float(m["value"]) for m in snapshot.dict()["metrics"]]

    out["ms"]["report"], out["report_values"] = best_of(reps, report)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="directory bench/drift.ts wrote")
    ap.add_argument("--peer", required=True, choices=["scipy", "evidently"])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    data = Path(args.data)
    meta = json.loads((data / "meta.json").read_text())
    num, cat = load(data, meta)
    warnings.filterwarnings("ignore")
    if args.peer == "scipy":
        out = run_scipy(num, meta["numeric"], args.reps)
    else:
        out = run_evidently(num, cat, meta["pairs"], args.reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
