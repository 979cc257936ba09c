#!/usr/bin/env bash
# The whole test suite: unit, property, doc and end-to-end tests (the latter start a real wardend).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# End-to-end suites spawn the real binaries; build them first so the tests find them.
cargo build --workspace --bins
cargo test --workspace "$@"
