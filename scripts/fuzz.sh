#!/usr/bin/env bash
# Runs each cargo-fuzz target in fuzz/ for a bounded time.
# Usage: scripts/fuzz.sh [target...]        (default: every target `cargo fuzz list` reports)
# Env:   FUZZ_SECONDS   time per target in seconds (default 60)
#        FUZZ_JOBS      parallel libFuzzer jobs per target (default 1; the build box has 2 cores)
#        FUZZ_ARGS      extra libFuzzer arguments
# Exit status: non-zero as soon as a target finds a crash (artifact under fuzz/artifacts/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-1}"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

# Seed the corpora with one valid input per message (skipped, not fatal, if the example does
# not build, e.g. while another crate of the workspace is mid-edit).
if cargo run -q -p warden-wire --example fuzz_seeds -- "$root/fuzz/corpus" 2>/dev/null; then
  :
else
  echo "fuzz: could not build the seed generator; fuzzing from empty corpora" >&2
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds}s"
  mkdir -p "fuzz/corpus/$t"
  par=()
  if [ "$jobs" -gt 1 ]; then par=(-jobs="$jobs" -workers="$jobs"); fi
  # shellcheck disable=SC2086 # FUZZ_ARGS is split on purpose.
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${par[@]}" ${FUZZ_ARGS:-}
done
echo "fuzz: all targets ran without a crash"
