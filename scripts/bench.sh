#!/usr/bin/env bash
# The project's bench command: every benchmark, in release, one after another (not part
# of scripts/test.sh; numbers are quoted in the issues' closing notes, never asserted).
#
#   scripts/bench.sh              every criterion bench, then every end-to-end latency run
#   scripts/bench.sh sessions rl  only the named ones (names below)
#
# Criterion benches (pure cores): journal, market_data, regime, risk, backtest,
# execution, robustness, sessions, rl. End-to-end runs (the real binary over HTTP or
# NATS, with a journal on disk; ignored tests that print p50/p99 and rates):
# e2e_risk, e2e_execution, e2e_sessions, e2e_smart_trade, e2e_rl_infer, e2e_ml_predict,
# e2e_nats_ingest, e2e_nats_commands, e2e_nats_cluster (R1 vs R3 ingest on a 3-server
# loopback cluster). The ML comparison with Python LightGBM is
# scripts/bench_ml.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/build-deps.sh  # cmake, libclang and a C++ compiler for LightGBM

CRITERION=(journal market_data regime risk backtest execution robustness sessions rl)
E2E=(e2e_risk e2e_execution e2e_sessions e2e_smart_trade e2e_rl_infer e2e_ml_predict e2e_nats_ingest e2e_nats_commands e2e_nats_cluster)
WANT=("$@")
[ ${#WANT[@]} -eq 0 ] && WANT=("${CRITERION[@]}" "${E2E[@]}")

e2e() { # an ignored end-to-end test of the root crate, in release
    cargo test --release --locked --test "$1" -- --ignored --nocapture --test-threads 1
}

for name in "${WANT[@]}"; do
    echo "== $name"
    case "$name" in
        journal) cargo bench --locked -p tradpal-journal --bench journal -- --noplot ;;
        rl) RAYON_NUM_THREADS=1 cargo bench --locked -p tradpal-actors --bench rl ;;
        market_data|regime|risk|backtest|execution|robustness|sessions)
            cargo bench --locked -p tradpal-actors --bench "$name" -- --noplot ;;
        e2e_risk) e2e risk_api ;;
        e2e_execution) e2e execution_api ;;
        e2e_sessions) e2e session_parity ;;
        e2e_smart_trade) e2e smart_trade ;;
        e2e_rl_infer) e2e rl_api ;;
        e2e_ml_predict) e2e ml_api ;;
        e2e_nats_ingest) e2e nats_ingest ;;
        e2e_nats_cluster) e2e nats_cluster ;;
        e2e_nats_commands) e2e nats_commands ;;
        *) echo "unknown bench $name; known: ${CRITERION[*]} ${E2E[*]}" >&2; exit 2 ;;
    esac
done
