#!/usr/bin/env bash
# TradPal next to two Python backtesters on the peers' shared workload, in one run on
# this machine, so anyone can check the speed claims (README "Benchmarks").
#
#   scripts/compare-peers.sh            the whole comparison (first run: a few minutes
#                                       for the venv and the release build)
#   RUNS=5 scripts/compare-peers.sh     more timed runs per tool (median is reported)
#   PROFILE=dist scripts/compare-peers.sh
#                                       tradpal built as shipped (`Cargo.toml`'s
#                                       `[profile.dist]`, the Dockerfile's: whole-program
#                                       optimisation; about 13 minutes from scratch)
#
# Not part of scripts/test.sh: it downloads Python packages and measures time.
#
# What it does:
# 1. a Python venv ($PEERS_VENV, default ~/.cache/tradpal-peers-venv) with numpy,
#    pandas, backtesting.py 0.6.6 and vectorbt from PyPI;
# 2. the workload ($SPEED_DIR, default $TMPDIR/tradpal-speed, /tmp without TMPDIR): scripts/peers/gen.py writes
#    1,051,200 one-minute GBM bars (numpy seed 42, from 2022-01-01, price 50,000, cents);
# 3. the same strategy in each tool (scripts/peers/common.py: SMA 10/20 sign cross,
#    first position at the first cross, fixed 0.125 units, 0.1% fee, cash 1,000,000,
#    fills at the next open): backtesting.py, vectorbt (its numba JIT timed apart), and
#    `tradpal backtest` (whole process, and the engine's own bars/s), then a 100-point
#    `tradpal optimize` grid over the same file (whole process);
# 4. a table: bars/s, fills, final equity, and each tool's speed over tradpal's;
# 5. with TALIB=1, TA-Lib's six indicators on the same file (scripts/peers/bench_talib.py)
#    next to tradpal's kernels (`tradpal indicators FILE --bench 30`), the same method on
#    both sides (best of 30 calls each, ms, two alternating rounds), and a second table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${RUNS:-3}
VENV=${PEERS_VENV:-$HOME/.cache/tradpal-peers-venv}
export SPEED_DIR=${SPEED_DIR:-${TMPDIR:-/tmp}/tradpal-speed}
. scripts/build-deps.sh  # cmake, libclang and a C++ compiler for LightGBM
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== venv $VENV" >&2
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q numpy pandas "backtesting==0.6.6" vectorbt "plotly<6" >&2

echo "== workload $SPEED_DIR" >&2
if [ ! -s "$SPEED_DIR/synth-1m.csv" ]; then
    "$VENV/bin/python" scripts/peers/gen.py "$SPEED_DIR" >&2
fi
CSV="$SPEED_DIR/synth-1m.csv"

PROFILE=${PROFILE:-release}
echo "== $PROFILE build" >&2
cargo build --profile "$PROFILE" --locked --bin tradpal >&2
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TRADPAL="$TARGET/$PROFILE/tradpal"

echo "== backtesting.py (1 run: ~10 s)" >&2
(cd scripts/peers && "$VENV/bin/python" bench_backtesting.py full 1) | tee -a "$OUT/log" >&2
echo "== vectorbt ($RUNS runs after the JIT run)" >&2
(cd scripts/peers && "$VENV/bin/python" bench_vectorbt.py full "$RUNS") | tee -a "$OUT/log" >&2

# One `tradpal backtest` run: the JSON result, and the whole process's wall time.
tradpal_run() {
    local start end
    start=$(date +%s.%N)
    "$TRADPAL" backtest --data "$CSV" --timeframe 1m --symbol BTC/USDT --strategy sma_cross \
        --param fast=10 --param slow=20 --param entry=cross --quantity 0.125 --participation none \
        --initial-capital 1000000 --commission 0.001 --slippage-bps 0 --json --quiet >"$OUT/tradpal.json"
    end=$(date +%s.%N)
    echo "$start $end" >"$OUT/tradpal.wall"
}
if [ "${TALIB:-0}" = 1 ]; then
    # Two rounds, each tool in turn (a shared machine's load drifts): best of 30 calls
    # per indicator on both sides, over the same file's rows; the table takes each
    # side's best round.
    echo "== indicators: TA-Lib and tradpal (best of 30 calls each, two rounds)" >&2
    "$VENV/bin/pip" install -q TA-Lib >&2
    for _ in 1 2; do
        (cd scripts/peers && "$VENV/bin/python" bench_talib.py 30) | tee -a "$OUT/log" >&2
        "$TRADPAL" indicators "$CSV" --bench 30 | tee -a "$OUT/log" >&2
    done
fi

echo "== tradpal backtest ($RUNS runs)" >&2
for _ in $(seq "$RUNS"); do
    tradpal_run
    "$VENV/bin/python" - "$OUT" <<'EOF' | tee -a "$OUT/log" >&2
import json, sys
out = sys.argv[1]
r = json.load(open(f"{out}/tradpal.json"))
start, end = map(float, open(f"{out}/tradpal.wall").read().split())
print("TRADPAL " + json.dumps(dict(bars=r["counts"]["bars"], fills=r["counts"]["fills"],
      final_equity=float(r["final_equity"]), engine_s=r["elapsed_seconds"], process_s=end - start)))
EOF
done

echo "== tradpal optimize: 100-point grid (fast 5..50 step 5 x slow 20..110 step 10)" >&2
start=$(date +%s.%N)
"$TRADPAL" optimize --data "$CSV" --timeframe 1m --strategy sma_cross --param entry=cross \
    --quantity 0.125 --participation none --initial-capital 1000000 --commission 0.001 --slippage-bps 0 \
    --range fast=5:50:5 --range slow=20:110:10 --method grid --json >"$OUT/grid.json"
end=$(date +%s.%N)
echo "GRID {\"process_s\": $(echo "$end - $start" | bc)}" | tee -a "$OUT/log" >&2

"$VENV/bin/python" scripts/peers/table.py "$OUT/log" "$OUT/grid.json"
