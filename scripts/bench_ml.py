#!/usr/bin/env python3
"""The Python side of scripts/bench_ml.sh (issue 14's benchmark).

`gen OUT.csv BARS SEED`: seeded 1-minute candles whose log returns follow
r[t+1] = -0.15 r[t] + noise (a planted, learnable signal), like the Rust honesty tests.

`fit DIR`: fits LightGBM (lgb.train: 200 trees, learning rate 0.1, 31 leaves, 20 rows
per leaf: LightGBM's defaults; seed 0, deterministic, row-wise, as tradpal runs it) on DIR/matrix.csv, exactly the rows and features `tradpal ml train
--bench-dir DIR` trained on, and writes DIR/python.json: best-of-3 fit time, test AUC,
one-row predict latency and batch scoring throughput.
"""
import json
import sys
import time

import numpy as np


def gen(out, bars, seed):
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(bars) * 0.001
    r = np.empty(bars)
    prev = 0.0
    for i in range(bars):
        prev = -0.15 * prev + noise[i]
        r[i] = prev
    close = 50_000.0 * np.exp(np.cumsum(r))
    open_ = np.concatenate([[50_000.0], close[:-1]])
    wick = 1.0 + 0.0005 * rng.random(bars)
    high = np.maximum(open_, close) * wick
    low = np.minimum(open_, close) / wick
    volume = 100.0 + 50.0 * rng.random(bars)
    t0 = np.datetime64("2024-01-01T00:00:00")
    with open(out, "w") as f:
        f.write("timestamp,open,high,low,close,volume\n")
        for i in range(bars):
            ts = str(t0 + np.timedelta64(i, "m")) + "Z"
            f.write(f"{ts},{float(open_[i])!r},{float(high[i])!r},{float(low[i])!r},{float(close[i])!r},{float(volume[i])!r}\n")


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    # average ranks over ties
    _, inv, counts = np.unique(p, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    pos = y > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit(d):
    import lightgbm as lgb

    with open(f"{d}/matrix.csv") as f:
        header = f.readline().strip().split(",")
    raw = np.genfromtxt(f"{d}/matrix.csv", delimiter=",", skip_header=1, dtype=str)
    x = raw[:, : len(header) - 2].astype(float)
    y = raw[:, len(header) - 2].astype(float)
    test = raw[:, len(header) - 1] == "test"
    xtr, ytr, xte, yte = x[~test], y[~test], x[test], y[test]
    best, model = float("inf"), None
    for _ in range(3):
        params = {"objective": "binary", "num_iterations": 200, "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 20,
                  "seed": 0, "deterministic": True, "force_row_wise": True, "verbose": -1}
        t = time.perf_counter()
        m = lgb.train(params, lgb.Dataset(xtr, label=ytr))
        best = min(best, time.perf_counter() - t)
        model = m
    booster = model
    p = booster.predict(xte)
    lat = []
    for k in range(2000):
        row = xte[k % len(xte)].reshape(1, -1)
        t = time.perf_counter()
        booster.predict(row)
        lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    reps = -(-1_000_000 // len(xte))
    big = np.tile(xte, (reps, 1))
    t = time.perf_counter()
    booster.predict(big)
    secs = time.perf_counter() - t
    out = {
        "implementation": f"LightGBM {lgb.__version__} (Python)",
        "train_rows": int(len(ytr)),
        "test_rows": int(len(yte)),
        "fit_seconds_best_of_3": best,
        "test_auc": auc(yte, p),
        "predict_one_row_us": {"p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99)], "calls": len(lat)},
        "batch": {"rows": int(len(big)), "seconds": secs, "rows_per_second": len(big) / secs},
    }
    with open(f"{d}/python.json", "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "fit":
        fit(sys.argv[2])
    else:
        sys.exit("usage: bench_ml.py gen OUT.csv BARS SEED | fit DIR")
