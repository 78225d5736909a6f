#!/usr/bin/env bash
# Issue 14's ML benchmark (not part of scripts/test.sh): 60,000 one-minute bars with a
# planted signal; `tradpal ml train` with default settings (release build) next to
# Python LightGBM (200 trees) on exactly the same rows and features; one-row predict
# latency and batch scoring throughput on both sides; then the HTTP predict latency
# (p50 / p99, the real service) from an ignored test.
#
#   scripts/bench_ml.sh [BARS] [SEED]     (default 60000 1)
set -euo pipefail
cd "$(dirname "$0")/.."
BARS="${1:-60000}"
SEED="${2:-1}"
OUT="${BENCH_ML_DIR:-target/bench-ml}"
mkdir -p "$OUT"

python3 -c 'import lightgbm, numpy' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check lightgbm numpy
. scripts/build-deps.sh  # cmake, libclang and a C++ compiler for LightGBM

cargo build --release --locked --bin tradpal
python3 scripts/bench_ml.py gen "$OUT/candles.csv" "$BARS" "$SEED"

echo "== tradpal ml train (default settings: all features, 200 trees, 3-fold purged CV, importance)" >&2
start=$(date +%s.%N)
target/release/tradpal ml train --data "$OUT/candles.csv" --timeframe 1m --json --bench-dir "$OUT" > "$OUT/report.json"
end=$(date +%s.%N)
python3 - "$OUT" "$start" "$end" <<'PY'
import json, sys
d, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
r = json.load(open(f"{d}/report.json"))
print(f"whole command: {end - start:.2f} s; training pipeline: {r['train_seconds']:.2f} s; "
      f"out-of-sample AUC {r['out_of_sample']['model']['auc']:.4f} (baseline {r['out_of_sample']['baseline']['auc']})")
PY
echo "== Python LightGBM on the same matrix" >&2
python3 scripts/bench_ml.py fit "$OUT" > /dev/null
python3 - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
rs, py = json.load(open(f"{d}/rust.json")), json.load(open(f"{d}/python.json"))
print(f"{'':28}{'tradpal':>16}{'Python LightGBM':>18}")
print(f"{'train / test rows':28}{rs['train_rows']:>10} / {rs['test_rows']:<5}{py['train_rows']:>10} / {py['test_rows']}")
print(f"{'fit, 200 trees (best of 3)':28}{rs['fit_seconds_best_of_3']:>15.3f}s{py['fit_seconds_best_of_3']:>17.3f}s")
print(f"{'test AUC':28}{rs['test_auc']:>16.4f}{py['test_auc']:>18.4f}")
print(f"{'predict 1 row p50 / p99 us':28}{rs['predict_one_row_us']['p50']:>7.1f} / {rs['predict_one_row_us']['p99']:<7.1f}{py['predict_one_row_us']['p50']:>9.1f} / {py['predict_one_row_us']['p99']:.1f}")
print(f"{'batch scoring rows/s':28}{rs['batch']['rows_per_second']:>16,.0f}{py['batch']['rows_per_second']:>18,.0f}")
PY
echo "== HTTP predict latency (release service, one row per request)" >&2
cargo test --release --locked --test ml_api -- --ignored --nocapture predict_latency 2>&1 | grep -E "predict|test result"
