#!/usr/bin/env python3
"""The Python side of `npm run bench:drift` (bench/drift.ts).

Reads the data set bench/drift.ts wrote (float64 little-endian, one feature
after another, reference and current files plus meta.json) and times, per
feature, what a Python drift check would run:

  ks           scipy.stats.ks_2samp (what Evidently's "ks" calls)
  psi          numpy: Evidently's binning (Sturges bins on the combined data) and formula
  wasserstein  scipy.stats.wasserstein_distance / np.std(reference)
  evidently_*  Evidently's own stattest functions on pandas Series, when installed

Prints one JSON object: best-of-N milliseconds for all features together,
and the per-feature values so the caller can check both sides agree.
Runs itself in the cached venv (~/.cache/fluxora/venv-drift) with
hack/requirements-drift.txt, creating it on first use.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-drift.txt"
VENV = Path(os.environ.get("FLUXORA_DRIFT_VENV", Path.home() / ".cache" / "fluxora" / "venv-drift"))


def ensure_venv() -> None:
    """Re-run this script inside the cached venv, creating or updating it first (install output to stderr)."""
    if os.environ.get("FLUXORA_DRIFT_IN_VENV") == "1":
        return
    python = VENV / "bin" / "python"
    stamp = VENV / ".fluxora-requirements"
    wanted = REQUIREMENTS.read_text()
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, stdout=sys.stderr)
    if not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True, stdout=sys.stderr)
        stamp.write_text(wanted)
    env = {**os.environ, "FLUXORA_DRIFT_IN_VENV": "1"}
    os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]], env)


ensure_venv()

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy import stats  # noqa: E402

try:
    import evidently
    import pandas as pd
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
    from evidently.legacy.core import ColumnType
except Exception as err:  # noqa: BLE001 - any import failure just means "no Evidently column"
    print(f"bench-drift.py: Evidently unavailable ({err}); timing scipy/numpy only", file=sys.stderr)
    evidently = None


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


def best_of(reps: int, fn, features) -> tuple[float, list[float]]:
    best = float("inf")
    values: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        values = [fn(r, c) for r, c in features]
        best = min(best, (time.perf_counter() - t0) * 1000)
    return best, values


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="directory bench/drift.ts wrote")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    data = Path(args.data)
    meta = json.loads((data / "meta.json").read_text())
    rows, names = meta["rows"], meta["features"]
    ref_all = np.fromfile(data / "reference.f64", dtype="<f8").reshape(len(names), rows)
    cur_all = np.fromfile(data / "current.f64", dtype="<f8").reshape(len(names), rows)
    features = [(ref_all[i], cur_all[i]) for i in range(len(names))]
    warnings.filterwarnings("ignore")

    out: dict = {"versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__},
                 "ms": {}, "values": {}}
    for key, fn in (("ks", ks_scipy), ("psi", psi_numpy), ("wasserstein", wasserstein_numpy)):
        out["ms"][key], out["values"][key] = best_of(args.reps, fn, features)
    if evidently is not None:
        out["versions"]["evidently"] = evidently.__version__
        series = [(pd.Series(r), pd.Series(c)) for r, c in features]
        out["ms"]["evidently_psi"], out["values"]["evidently_psi"] = best_of(
            args.reps, lambda r, c: float(_psi(r, c, ColumnType.Numerical, 0.1)[0]), series)
        out["ms"]["evidently_wasserstein"], out["values"]["evidently_wasserstein"] = best_of(
            args.reps, lambda r, c: float(_wasserstein_distance_norm(r, c, ColumnType.Numerical, 0.1)[0]), series)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
