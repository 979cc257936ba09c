#!/usr/bin/env bash
# Run warden-arena's unit, integration and property tests under a memory checker.
#
#   bash scripts/arena-sanitizer.sh            # AddressSanitizer (nightly), else valgrind
#   bash scripts/arena-sanitizer.sh asan       # AddressSanitizer only
#   bash scripts/arena-sanitizer.sh valgrind   # valgrind memcheck only
#   bash scripts/arena-sanitizer.sh both
#
# Notes
# - ASan: `RUSTFLAGS=-Zsanitizer=address cargo +nightly test --target <host>`; `--target`
#   keeps build scripts and proc-macros uninstrumented. The precompiled std is not rebuilt
#   (no -Zbuild-std, works offline); our crate, the tests and their deps are instrumented.
# - Feature `asan-poison` makes the arena poison every byte outside a live block (free
#   space, padding, rolled-back blocks, the region between sessions), so ASan also checks
#   accesses *inside* the arena's mapping; tests/asan_poison.rs proves reports happen.
# - Leak detection is off: `Arena::from_static` needs `&'static mut [u8]`, which the tests
#   obtain by leaking boxes on purpose.
# - The mlock tests are skipped under ASan: its runtime intercepts mlock() as a no-op, so
#   neither "granted" (VmLck) nor "refused" can be observed. They run under valgrind.
# - Doctests are not run here (compile_fail doctests are checked by the normal test run).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-auto}"
host="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/arena-sanitizer}"
# Keep the property tests meaningful but affordable under instrumentation.
export PROPTEST_CASES="${PROPTEST_CASES:-128}"

run_asan() {
    echo "== warden-arena tests under AddressSanitizer (nightly, target $host)"
    RUSTFLAGS="-Zsanitizer=address" \
        ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:detect_stack_use_after_return=1" \
        cargo +nightly test -p warden-arena --features asan-poison --target "$host" --lib --tests -- --skip mlock
}

run_valgrind() {
    command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; return 1; }
    echo "== warden-arena tests under valgrind memcheck"
    local bins
    bins="$(cargo test -p warden-arena --lib --tests --no-run --message-format=json 2>/dev/null |
        grep -o '"executable":"[^"]*"' | sed 's/"executable":"//; s/"$//')"
    [ -n "$bins" ] || { echo "no test binaries found" >&2; return 1; }
    for bin in $bins; do
        echo "-- $(basename "$bin")"
        valgrind --quiet --error-exitcode=99 --leak-check=no --track-origins=yes \
            "$bin" --test-threads=1 -q
    done
}

asan_available() {
    cargo +nightly --version >/dev/null 2>&1
}

case "$mode" in
    asan) run_asan ;;
    valgrind) run_valgrind ;;
    both) run_asan && run_valgrind ;;
    auto)
        if asan_available; then run_asan; else
            echo "nightly toolchain not found; falling back to valgrind"
            run_valgrind
        fi
        ;;
    *) echo "usage: $0 [auto|asan|valgrind|both]" >&2; exit 2 ;;
esac
echo "== sanitizer run passed"
