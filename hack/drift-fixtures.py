#!/usr/bin/env python3
"""Write the drift engine's reference results to test/fixtures/drift/*.json.

Small seeded data sets (several distributions, sample sizes on both sides of
scipy's exact/asymptotic KS boundary, ties, categorical data with categories
the reference never saw, missing values) and, for each, what scipy 1.17 and
Evidently 0.7 compute: ks_2samp's statistic and p-value, Evidently's psi,
jensenshannon, wasserstein (normed), chisquare and z stattests, and the
method Evidently's auto selection picks with its verdict.
src/drift/fixtures.test.ts compares every number to 1e-9 relative.

Runs itself in a cached venv (~/.cache/fluxora/venv-drift, or
$FLUXORA_DRIFT_VENV) with hack/requirements-drift.txt installed:

    python3 hack/drift-fixtures.py            # rewrites the fixtures
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REQUIREMENTS = HERE / "requirements-drift.txt"
VENV = Path(os.environ.get("FLUXORA_DRIFT_VENV", Path.home() / ".cache" / "fluxora" / "venv-drift"))
OUT = REPO / "test" / "fixtures" / "drift"


def ensure_venv() -> None:
    """Re-run this script inside the cached venv, creating or updating it first."""
    if os.environ.get("FLUXORA_DRIFT_IN_VENV") == "1":
        return
    python = VENV / "bin" / "python"
    stamp = VENV / ".fluxora-requirements"
    wanted = REQUIREMENTS.read_text()
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(wanted)
    # Evidently orders categories by iterating a Python set: a fixed hash seed keeps
    # the summation order, and so the fixtures' last bits, the same from run to run.
    env = {**os.environ, "FLUXORA_DRIFT_IN_VENV": "1", "PYTHONHASHSEED": "0"}
    os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]], env)


ensure_venv()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from scipy import stats  # noqa: E402

import evidently  # noqa: E402
from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test  # noqa: E402
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon  # noqa: E402
from evidently.legacy.calculations.stattests.psi import _psi  # noqa: E402
from evidently.legacy.calculations.stattests.registry import get_stattest  # noqa: E402
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm  # noqa: E402
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test, proportions_diff_z_stat_ind  # noqa: E402
from evidently.legacy.core import ColumnType  # noqa: E402

# Evidently's stattest names -> ours (the API's); "z" is its two-proportion test.
METHOD_NAMES = {"ks": "ks", "chisquare": "chisquare", "z": "zscore", "psi": "psi",
                "jensenshannon": "jensenshannon", "wasserstein": "wasserstein"}


def num(x: float) -> float | str:
    """JSON has no NaN/Infinity: spell them as strings the test decodes."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def values_json(a) -> list:
    out = []
    for v in a:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif isinstance(v, (float, np.floating)) and math.isinf(v):
            out.append(num(v))
        elif isinstance(v, (float, np.floating, int, np.integer)):
            out.append(float(v))
        else:
            out.append(str(v))
    return out


def present(series: pd.Series) -> pd.Series:
    """What Evidently's get_one_column_drift does before any stattest: inf -> NaN, drop NaN."""
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def auto_result(ref: pd.Series, cur: pd.Series, ctype: ColumnType) -> dict:
    test = get_stattest(ref, cur, ctype, None)
    result = test(ref, cur, ctype, None)
    return {"method": METHOD_NAMES[test.name], "score": num(result.drift_score),
            "drifted": bool(result.drifted), "threshold": num(result.actual_threshold)}


def ks_mode(n1: int, n2: int) -> str:
    # scipy's auto: exact when max(n1, n2) <= 10000 (it can still fall back; none of these cases does).
    return "exact" if max(n1, n2) <= 10000 else "asymp"


def numeric_case(name: str, description: str, ref, cur, decimals: int | None = 6) -> dict:
    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    if decimals is not None:
        # Short decimals keep the fixture small; both sides parse the same text to the same doubles.
        ref = np.round(ref, decimals)
        cur = np.round(cur, decimals)
    r = present(pd.Series(ref))
    c = present(pd.Series(cur))
    ks = stats.ks_2samp(r.to_numpy(), c.to_numpy())
    mu_ref = float(np.mean(r))
    expected = {
        "ks": {"statistic": num(ks.statistic), "pValue": num(ks.pvalue), "mode": ks_mode(len(r), len(c))},
        "psi": num(_psi(r, c, ColumnType.Numerical, 0.1)[0]),
        "jensenshannon": num(_jensenshannon(r, c, ColumnType.Numerical, 0.1)[0]),
        "wasserstein": num(_wasserstein_distance_norm(r, c, ColumnType.Numerical, 0.1)[0]),
        # Our numeric zscore: mean shift in reference standard deviations (numpy, ddof 0, Evidently's 0.001 floor).
        "zscore": num(abs(float(np.mean(c)) - mu_ref) / max(float(np.std(r)), 0.001)),
        "auto": auto_result(r, c, ColumnType.Numerical),
        "referenceCount": len(r),
        "currentCount": len(c),
    }
    if pd.concat([r, c]).nunique() <= 5:
        expected["categorical"] = categorical_expectations(r, c, ColumnType.Numerical)
    return {"name": name, "description": description, "type": "numeric",
            "reference": values_json(ref), "current": values_json(cur), "expected": expected}


def categorical_expectations(r: pd.Series, c: pd.Series, ctype: ColumnType) -> dict:
    keys = list(set(r.unique()) | set(c.unique()))
    k_norm = len(c) / len(r)
    ref_counts = r.value_counts()
    cur_counts = c.value_counts()
    f_exp = [ref_counts.get(k, 0) * k_norm for k in keys]
    f_obs = [cur_counts.get(k, 0) for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = stats.chisquare(f_obs, f_exp)
    out: dict = {"chisquare": {"statistic": num(chi.statistic), "pValue": num(_chi_stat_test(r, c, ctype, 0.05)[0])}}
    z_p = _z_stat_test(r, c, ctype, 0.05)[0]
    if r.nunique() == 1 and c.nunique() == 1 and r.unique()[0] == c.unique()[0]:
        z_stat = 0.0
    else:
        first = sorted(keys)[0]
        z_stat = abs(float(proportions_diff_z_stat_ind(r.apply(lambda x: 0 if x == first else 1),
                                                       c.apply(lambda x: 0 if x == first else 1))))
    out["zscore"] = {"statistic": num(z_stat), "pValue": num(z_p)}
    return out


def categorical_case(name: str, description: str, ref: list, cur: list) -> dict:
    r = pd.Series(ref, dtype=object).dropna()
    c = pd.Series(cur, dtype=object).dropna()
    expected = categorical_expectations(r, c, ColumnType.Categorical)
    expected.update({
        "psi": num(_psi(r, c, ColumnType.Categorical, 0.1)[0]),
        "jensenshannon": num(_jensenshannon(r, c, ColumnType.Categorical, 0.1)[0]),
        "auto": auto_result(r, c, ColumnType.Categorical),
        "referenceCount": len(r),
        "currentCount": len(c),
    })
    return {"name": name, "description": description, "type": "categorical",
            "reference": values_json(ref), "current": values_json(cur), "expected": expected}


def numeric_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        numeric_case("normal-same-small", "N(0,1) vs N(0,1), 200 vs 150: exact KS, unequal sizes",
                     rng.normal(0, 1, 200), rng.normal(0, 1, 150)),
        numeric_case("normal-shift-equal-n", "N(0,1) vs N(0.5,1), 300 vs 300: exact KS, equal sizes",
                     rng.normal(0, 1, 300), rng.normal(0.5, 1, 300)),
        numeric_case("normal-strong-shift", "N(0,1) vs N(1,1.2), 800 vs 700: exact KS, tiny p-value",
                     rng.normal(0, 1, 800), rng.normal(1, 1.2, 700)),
        numeric_case("tiny", "5 vs 3 values", rng.normal(0, 1, 5), rng.normal(0.3, 1, 3)),
        numeric_case("identical", "the same 120 values on both sides", *(lambda a: (a, a.copy()))(rng.normal(3, 2, 120))),
        numeric_case("poisson-ties", "Poisson(3) vs Poisson(3.3), 400 vs 350: many ties, few distinct values",
                     rng.poisson(3, 400), rng.poisson(3.3, 350), None),
        numeric_case("rounded-ties", "N(10,2) rounded to 0.5, 900 vs 600: ties across samples, > 20 distinct values",
                     np.round(rng.normal(10, 2, 900) * 2) / 2, np.round(rng.normal(10.3, 2, 600) * 2) / 2, None),
        numeric_case("three-values", "values 1,2,3 only: auto treats it as categorical (chi-square)",
                     rng.choice([1.0, 2.0, 3.0], 500, p=[0.5, 0.3, 0.2]), rng.choice([1.0, 2.0, 3.0], 400, p=[0.4, 0.3, 0.3]), None),
        numeric_case("binary-numeric", "0/1 values: auto picks the z (two-proportion) test",
                     rng.choice([0.0, 1.0], 300, p=[0.7, 0.3]), rng.choice([0.0, 1.0], 250, p=[0.6, 0.4]), None),
        numeric_case("binary-numeric-large", "0/1 values with a reference over 1000 rows: auto picks Jensen-Shannon",
                     rng.choice([0.0, 1.0], 1500, p=[0.7, 0.3]), rng.choice([0.0, 1.0], 900, p=[0.6, 0.4]), None),
        numeric_case("exact-boundary", "lognormal, 10000 vs 1000: largest size scipy still treats exactly",
                     rng.lognormal(0, 0.5, 10000), rng.lognormal(0.05, 0.5, 1000), 2),
    ]
    # One 10001-value reference serves every asymptotic case (stored once, see "sameAs").
    big = np.round(rng.normal(0, 1, 10001), 2)
    cases += [
        numeric_case("asymp-boundary", "N(0,1), 10001 vs 2000: just past scipy's exact limit (asymptotic kstwo)",
                     big, rng.normal(0.05, 1, 2000), 2),
        numeric_case("asymp-equal", "10001 vs 10001, N(0.03,1): n = 5000.5 rounds half to even; Smirnov tail",
                     big, rng.normal(0.03, 1, 10001), 2),
        numeric_case("asymp-tiny-en", "10001 vs 6: asymptotic with n = 6 (small-n kstwo)",
                     big, rng.normal(0.8, 1, 6), 2),
        numeric_case("asymp-durbin", "10001 vs 300, nearly the same: large-n kstwo by Pelz-Good",
                     big, rng.normal(0, 1, 300), 2),
    ]
    for case in cases[-4:]:
        case["reference"] = {"sameAs": "asymp-boundary"} if case["name"] != "asymp-boundary" else case["reference"]
    cases += [
        numeric_case("uniform-vs-beta", "U(0,1) vs Beta(2,2), 5000 vs 1000: auto picks Wasserstein",
                     rng.uniform(0, 1, 5000), rng.beta(2, 2, 1000)),
        numeric_case("exponential-scale", "Exp(1) vs Exp(1.3), 2000 vs 2500: heavy right tail",
                     rng.exponential(1, 2000), rng.exponential(1.3, 2500)),
        numeric_case("constant-reference", "reference all 5.0: Wasserstein's 0.001 norm floor, per-value bins",
                     np.full(100, 5.0), rng.normal(5, 1, 80)),
        numeric_case("negative-and-zero", "mixed signs, -0.0 and 0.0 count as one value",
                     np.concatenate([rng.normal(0, 1, 150), [0.0, -0.0, 0.0]]), np.concatenate([rng.normal(-0.2, 1, 140), [-0.0]])),
    ]
    with_missing = rng.normal(0, 1, 300)
    with_missing[[3, 50, 120]] = np.nan
    with_missing[77] = np.inf
    cur_missing = rng.normal(0.2, 1, 260)
    cur_missing[[0, 259]] = np.nan
    cur_missing[10] = -np.inf
    cases.append(numeric_case("missing-values", "NaN and +-inf in both samples are dropped, as Evidently does",
                              with_missing, cur_missing))
    return cases


def categorical_cases(rng: np.random.Generator) -> list[dict]:
    def draw(labels, p, n):
        return [str(x) for x in rng.choice(labels, n, p=p)]

    abcd = ["a", "b", "c", "d"]
    return [
        categorical_case("cat-same", "4 categories, same mix, 500 vs 400: auto chi-square",
                         draw(abcd, [0.4, 0.3, 0.2, 0.1], 500), draw(abcd, [0.4, 0.3, 0.2, 0.1], 400)),
        categorical_case("cat-shift", "4 categories, shifted mix",
                         draw(abcd, [0.4, 0.3, 0.2, 0.1], 600), draw(abcd, [0.25, 0.25, 0.25, 0.25], 450)),
        categorical_case("cat-unseen", "current has a category (e) the reference never saw: chi-square inf, p 0",
                         draw(abcd, [0.4, 0.3, 0.2, 0.1], 300), draw(abcd + ["e"], [0.35, 0.3, 0.2, 0.1, 0.05], 280)),
        categorical_case("cat-missing-in-current", "reference has a category the current lacks",
                         draw(abcd, [0.4, 0.3, 0.2, 0.1], 300), draw(["a", "b", "c"], [0.5, 0.3, 0.2], 200)),
        categorical_case("cat-binary", "yes/no: auto picks the z test",
                         draw(["yes", "no"], [0.8, 0.2], 700), draw(["yes", "no"], [0.74, 0.26], 500)),
        categorical_case("cat-large-reference", "reference over 1000 rows: auto picks Jensen-Shannon",
                         draw(abcd, [0.4, 0.3, 0.2, 0.1], 3000), draw(abcd + ["e"], [0.3, 0.3, 0.2, 0.1, 0.1], 1200)),
        categorical_case("cat-single-same", "one category, the same on both sides: z gives p = 1",
                         ["x"] * 50, ["x"] * 40),
        categorical_case("cat-single-different", "one category each, different: z on two categories",
                         ["x"] * 50, ["y"] * 40),
        categorical_case("cat-with-missing", "missing labels (null) are dropped",
                         draw(abcd, [0.4, 0.3, 0.2, 0.1], 200) + [None] * 7, [None] * 3 + draw(abcd, [0.3, 0.3, 0.3, 0.1], 150)),
        categorical_case("cat-unicode-order", "z test's first category in Python (code point) order, not UTF-16 order",
                         draw(["\U0001d518", "\uff5a"], [0.6, 0.4], 300), draw(["\U0001d518", "\uff5a"], [0.5, 0.5], 300)),
        categorical_case("cat-many", "40 categories, Zipf-like: shares down to 1e-4, Evidently's small-share fill",
                         draw([f"c{i}" for i in range(40)], (lambda w: w / w.sum())(1 / np.arange(1, 41) ** 2), 900),
                         draw([f"c{i}" for i in range(40)], (lambda w: w / w.sum())(1 / np.arange(1, 41) ** 1.5), 800)),
    ]


def special_grid() -> dict:
    """The distribution functions behind the p-values, on grids that reach every branch scipy takes."""
    kstwo = []
    for n in [1, 2, 3, 5, 10, 50, 140, 141, 291, 500, 5000, 100000, 100001, 250000, 500000, 2000000]:
        for d in [0.3 / n, 0.7 / n, 1.0 / n, 1.5 / n, 3.0 / n, 0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.5, 0.6, 0.9]:
            kstwo.append({"n": n, "d": d, "sf": num(stats.kstwo.sf(d, n))})
    from scipy.special import ndtr
    chi2 = [{"x": x, "df": df, "sf": num(stats.chi2.sf(x, df))}
            for df in [1, 2, 3, 7, 20, 99, 500] for x in [0.01, 0.5, 1, 3, 10, 50, 100, 400, 1000]]
    normal = [{"x": x, "cdf": num(ndtr(x))} for x in [-40, -10, -5, -1.5, -0.5, 0, 0.3, 0.7, 1, 2, 5, 8.5, 9, 20]]
    return {"kstwo": kstwo, "chi2": chi2, "ndtr": normal}


def main() -> None:
    # scipy warns (divide by zero) on the unseen-category chi-square; the inf statistic is the point.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    rng = np.random.default_rng(20240611)
    versions = {"scipy": scipy.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                "evidently": evidently.__version__}
    OUT.mkdir(parents=True, exist_ok=True)
    for name, cases in (("numeric", numeric_cases(rng)), ("categorical", categorical_cases(rng))):
        doc = {"generator": "hack/drift-fixtures.py", "versions": versions, "cases": cases}
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n")
        print(f"wrote {path.relative_to(REPO)} ({len(cases)} cases, {path.stat().st_size // 1024} KiB)")
    path = OUT / "distributions.json"
    path.write_text(json.dumps({"generator": "hack/drift-fixtures.py", "versions": versions, **special_grid()},
                               allow_nan=False, separators=(",", ":")) + "\n")
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
