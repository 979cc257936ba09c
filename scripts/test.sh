#!/usr/bin/env bash
# The whole test suite: unit, property, doc and end-to-end tests (the latter start a real wardend).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# End-to-end suites spawn the real binaries; build them first so the tests find them.
cargo build --workspace --bins
# The no_std crates must build without their `std` feature. No bare-metal target is installed
# here, so this checks on the host: `#![no_std]` turns any use of std inside the crate into an
# error, and the dependency features they pull stay std-free.
for crate in warden-arena warden-core warden-sandbox; do
    cargo check -p "$crate" --no-default-features
done
cargo test --workspace "$@"
# The arena's compile_fail doctests name the error they expect (E0277 not Copy, E0597 outlives
# its session, E0499 second session); rustdoc checks those codes only on nightly, so use one
# when it is installed (the stable run above already proves that each example fails to build).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo +nightly test -p warden-arena --doc --target-dir target/nightly
fi
