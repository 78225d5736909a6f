# Sourced (`. scripts/build-deps.sh`) by every script that builds the workspace:
# scripts/test.sh, bench.sh, bench_ml.sh, compare-peers.sh. Installs what building needs
# on a fresh Debian machine beyond Rust, and exports CMAKE for the lightgbm3 build.
#
# The ML actor's gradient boosting is LightGBM, built from C++ source by the lightgbm3
# crate (see ARCHITECTURE.md, "ML"): it needs a C++ compiler, libclang (bindgen) and
# cmake >= 3.28. Debian 12's cmake is 3.25, so a current one comes from PyPI.
cmake_ok() {
    command -v cmake >/dev/null 2>&1 || return 1
    local v
    v=$(cmake --version | sed -n 's/^cmake version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
    set -- $v
    [ "${1:-0}" -gt 3 ] || { [ "${1:-0}" -eq 3 ] && [ "${2:-0}" -ge 28 ]; }
}
if ! cmake_ok; then
    echo "installing cmake >= 3.28 (pip package cmake)" >&2
    python3 -m pip install --quiet --disable-pip-version-check cmake \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages cmake
    hash -r
    cmake_ok || export PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
    cmake_ok || { echo "error: cmake >= 3.28 is needed (LightGBM) and could not be installed" >&2; exit 1; }
fi
export CMAKE="${CMAKE:-$(command -v cmake)}"
if ! command -v c++ >/dev/null 2>&1 || { ! ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 && [ -z "${LIBCLANG_PATH:-}" ]; }; then
    echo "installing libclang-dev and a C++ compiler (apt) for LightGBM's bindings" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q libclang-dev g++ \
        || { echo "error: libclang-dev (and g++) are needed to build LightGBM's bindings" >&2; exit 1; }
fi
