#!/usr/bin/env python3
"""Write scikit-learn's performance metrics to test/fixtures/performance/metrics.json.

Seeded cases for src/drift/performance-metrics.ts: binary classifiers (random
probabilities, heavy score ties, another threshold, perfect and inverted
rankings, nothing predicted positive, one class only, probabilities of exactly
0 and 1, scores that are no probabilities) and regressions (random, a constant
target fitted and not fitted, a single row). For each, what scikit-learn 1.9
computes: accuracy_score, roc_auc_score, f1_score, log_loss; or
root_mean_squared_error, mean_absolute_error, r2_score. A metric scikit-learn
refuses (ValueError) or answers NaN for is written as null: the operator must
report it unavailable. src/drift/performance-metrics.test.ts compares every
number to 1e-9 relative.

Run through `npx tsx hack/performance-fixtures.ts`, which builds the cached
venv from hack/requirements-performance.txt and runs this with it.
"""
from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "performance" / "metrics.json"


def value(fn):
    """fn()'s float, or None where scikit-learn refuses or has no number."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        try:
            v = float(fn())
        except ValueError:
            return None
    return v if math.isfinite(v) else None


def binary(name, y, score, threshold=0.5):
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    predicted = (score >= threshold).astype(np.int64)
    return {
        "name": name,
        "task": "BinaryClassification",
        "threshold": threshold,
        "y": y.tolist(),
        "prediction": score.tolist(),
        "expected": {
            "accuracy": value(lambda: accuracy_score(y, predicted)),
            "auc": value(lambda: roc_auc_score(y, score)),
            # zero_division=0.0 is what the default "warn" returns, without the warning.
            "f1": value(lambda: f1_score(y, predicted, pos_label=1, zero_division=0.0)),
            "logLoss": value(lambda: log_loss(y, score, labels=[0, 1])),
        },
    }


def regression(name, y, pred):
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    return {
        "name": name,
        "task": "Regression",
        "y": y.tolist(),
        "prediction": pred.tolist(),
        "expected": {
            "rmse": value(lambda: root_mean_squared_error(y, pred)),
            "mae": value(lambda: mean_absolute_error(y, pred)),
            "r2": value(lambda: r2_score(y, pred)),
        },
    }


def main() -> int:
    rng = np.random.default_rng(20260315)
    cases = []

    # A calibrated-ish classifier: labels drawn from the scores.
    p = rng.beta(2, 3, 500)
    y = (rng.random(500) < p).astype(int)
    cases.append(binary("random probabilities", y, p))
    cases.append(binary("threshold 0.3", y, p, threshold=0.3))
    # Ties everywhere: scores on a 0.1 grid, so many (positive, negative) pairs tie.
    cases.append(binary("scores rounded to one decimal", y, np.round(p, 1)))
    cases.append(binary("two distinct scores", y, np.where(p > 0.4, 0.8, 0.2)))
    # Small cases with known answers.
    cases.append(binary("perfect ranking", [0, 0, 1, 1, 0, 1], [0.1, 0.2, 0.9, 0.7, 0.3, 0.6]))
    cases.append(binary("inverted ranking", [1, 1, 0, 0], [0.1, 0.2, 0.9, 0.7]))
    cases.append(binary("nothing predicted positive, nothing labelled positive but one", [0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4]))
    cases.append(binary("nothing positive at all", [0, 0, 0], [0.1, 0.2, 0.3]))
    cases.append(binary("one class only", [1, 1, 1, 1], [0.9, 0.4, 0.7, 0.8]))
    cases.append(binary("probabilities of exactly 0 and 1", [1, 0, 1, 0, 1], [1.0, 0.0, 0.0, 1.0, 0.5]))
    cases.append(binary("scores that are not probabilities", [0, 1, 0, 1, 1], [-2.5, 3.0, 0.4, 1.7, -0.1], threshold=0.0))
    cases.append(binary("a single row", [1], [0.8]))

    x = rng.normal(50, 12, 500)
    yr = 3 * x + rng.normal(0, 8, 500)
    cases.append(regression("random regression", yr, 3 * x + 2))
    cases.append(regression("constant target, fitted", [4.0, 4.0, 4.0], [4.0, 4.0, 4.0]))
    cases.append(regression("constant target, not fitted", [4.0, 4.0, 4.0], [4.0, 5.0, 3.5]))
    cases.append(regression("a single row", [2.5], [3.0]))
    cases.append(regression("worse than the mean", [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One case per line: diffs stay readable when a case changes.
    lines = ",\n".join(json.dumps(c) for c in cases)
    generator = json.dumps(f"hack/performance-fixtures.py, scikit-learn {sklearn.__version__}")
    OUT.write_text(f'{{"generator": {generator}, "cases": [\n{lines}\n]}}\n')
    print(f"wrote {OUT} ({len(cases)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
