#!/usr/bin/env python3
"""The peers of `npm run bench:join` (bench/join.ts): the same label join in
pandas and in DuckDB, with scikit-learn's metrics, on the files bench/join.ts
wrote (predictions.csv: id,score; labels/labels-NN.csv: id,label, later files
correct earlier ones).

Each step is timed best-of-N, as the Fluxora side is:
  read     the label files into one table (pandas: read_csv per file, in name
           order = modification order, and concat; DuckDB: read, keep the last
           label per id and join, in one query)
  join     pandas: drop_duplicates(keep="last") of labels and predictions,
           merge on id, the labels that match no prediction, the coverage
  metrics  accuracy, ROC AUC, F1 and log loss (scikit-learn) of the joined rows

Prints a JSON list with the result of the peer asked for (--peer pandas or
duckdb; one process each, so each peak RSS is its own). Run by bench/join.ts
with the venv of hack/requirements-performance.txt.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    yhat = (p >= 0.5).astype(np.int64)
    return {
        "accuracy": float(accuracy_score(y, yhat)),
        "auc": float(roc_auc_score(y, p)),
        "f1": float(f1_score(y, yhat)),
        "logLoss": float(log_loss(y, p, labels=[0, 1])),
    }


def best(reps: int, fn):
    ms, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        ms = min(ms, (time.perf_counter() - t0) * 1000)
    return ms, out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pandas(data: Path, reps: int) -> dict:
    files = sorted((data / "labels").glob("*.csv"))
    predictions = pd.read_csv(data / "predictions.csv", dtype={"id": str})  # untimed, as on the Fluxora side
    steps: dict[str, float] = {"read": float("inf"), "join": float("inf"), "metrics": float("inf"), "total": float("inf")}
    for _ in range(reps):
        t0 = time.perf_counter()
        labels = pd.concat([pd.read_csv(f, dtype={"id": str}) for f in files], ignore_index=True)
        t1 = time.perf_counter()
        rows = len(labels)
        latest = labels.drop_duplicates("id", keep="last")
        preds = predictions.drop_duplicates("id", keep="last")
        joined = preds.merge(latest, on="id", how="inner")
        unmatched = int((~latest["id"].isin(preds["id"])).sum())
        coverage = len(joined) / len(preds) if len(preds) else 0.0
        t2 = time.perf_counter()
        m = metrics(joined["label"].to_numpy(), joined["score"].to_numpy())
        t3 = time.perf_counter()
        for k, v in (("read", t1 - t0), ("join", t2 - t1), ("metrics", t3 - t2), ("total", t3 - t0)):
            steps[k] = min(steps[k], v * 1000)
    return {
        "name": "pandas",
        "version": f"pandas {pd.__version__}, scikit-learn {sklearn.__version__}",
        "ms": steps,
        "counts": {"predictions": len(predictions), "labelRows": rows, "labelled": len(joined), "unmatchedLabels": unmatched, "coverage": coverage},
        "metrics": m,
        "maxRssMB": rss_mb(),
    }


def run_duckdb(data: Path, reps: int) -> dict:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE predictions AS SELECT * FROM read_csv('{data / 'predictions.csv'}', columns = {{'id': 'VARCHAR', 'score': 'DOUBLE'}}, header = true)")
    glob = str(data / "labels" / "*.csv")
    # The last label per id: by file (names sort as they were written), then by line within the file.
    labels_sql = f"""
        SELECT id, label FROM (
          SELECT id, label, row_number() OVER (PARTITION BY id ORDER BY filename DESC, line DESC) AS rn
          FROM (SELECT *, row_number() OVER () AS line
                FROM read_csv('{glob}', columns = {{'id': 'VARCHAR', 'label': 'BIGINT'}}, header = true, filename = true))
        ) WHERE rn = 1"""
    steps: dict[str, float] = {"read": float("inf"), "join": 0.0, "metrics": float("inf"), "total": float("inf")}
    for _ in range(reps):
        t0 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE latest AS {labels_sql}")
        y, p = con.execute("SELECT l.label, p.score FROM predictions p JOIN latest l USING (id) ORDER BY p.rowid").fetchnumpy().values()
        unmatched = con.execute("SELECT count(*) FROM latest l ANTI JOIN predictions p USING (id)").fetchone()[0]
        t1 = time.perf_counter()
        m = metrics(np.asarray(y), np.asarray(p))
        t2 = time.perf_counter()
        for k, v in (("read", t1 - t0), ("metrics", t2 - t1), ("total", t2 - t0)):
            steps[k] = min(steps[k], v * 1000)
    n_pred = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
    rows = con.execute(f"SELECT count(*) FROM read_csv('{glob}', header = true)").fetchone()[0]
    return {
        "name": "duckdb",
        "version": f"duckdb {duckdb.__version__}, scikit-learn {sklearn.__version__}",
        "ms": steps,
        "counts": {"predictions": n_pred, "labelRows": rows, "labelled": len(y), "unmatchedLabels": int(unmatched), "coverage": len(y) / n_pred},
        "metrics": m,
        "maxRssMB": rss_mb(),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--reps", type=int, default=3)
    # One peer per process, so each peak RSS is its own.
    ap.add_argument("--peer", choices=["pandas", "duckdb"], required=True)
    a = ap.parse_args()
    run = run_pandas if a.peer == "pandas" else run_duckdb
    json.dump([run(a.data, a.reps)], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
