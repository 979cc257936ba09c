#!/usr/bin/env bash
# Runs each cargo-fuzz target in fuzz/ for a bounded time.
# Usage: scripts/fuzz.sh [target...]        (default: every target `cargo fuzz list` reports:
#        frame_decoder, request_decoder, dispatch, dispatch_ops, socket_stream)
# Env:   FUZZ_SECONDS   time per target in seconds (default 60)
#        FUZZ_JOBS      parallel libFuzzer jobs per target (default 1; the build box has 2 cores)
#        FUZZ_ARGS      extra libFuzzer arguments
# Every target runs even if an earlier one crashed; a summary (runs, coverage, outcome) is
# printed at the end. Exit status: non-zero if any target found a crash (artifact under
# fuzz/artifacts/<target>/; reproduce with `cargo +nightly fuzz run <target> <artifact>`).
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
  # The raw `dispatch` target takes a flag byte (0 = handshake first) and a frame stream:
  # every valid frame of the frame_decoder corpus (4-byte limit prefix dropped) is a seed.
  mkdir -p fuzz/corpus/dispatch
  for f in fuzz/corpus/frame_decoder/*; do
    [ -f "$f" ] || continue
    { printf '\0'; tail -c +5 "$f"; } >"fuzz/corpus/dispatch/seed-$(basename "$f")"
  done
else
  echo "fuzz: could not build the seed generator; fuzzing from empty corpora" >&2
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

logdir="$root/fuzz/target/logs"
mkdir -p "$logdir"
summary=()
failed=0
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds}s"
  mkdir -p "fuzz/corpus/$t"
  par=()
  if [ "$jobs" -gt 1 ]; then par=(-jobs="$jobs" -workers="$jobs"); fi
  # Structured scripts only get deep with room to grow: without this, libFuzzer's slow length
  # ramp keeps inputs at a few steps for most of a short run (measured: 2x features in 60 s).
  if [ "$t" = dispatch_ops ]; then par+=(-len_control=0 -max_len=1024); fi
  log="$logdir/$t.log"
  status=ok
  # shellcheck disable=SC2086 # FUZZ_ARGS is split on purpose.
  if ! cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${par[@]}" ${FUZZ_ARGS:-} 2>&1 | tee "$log"; then
    status=CRASH
    failed=1
  fi
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')"
  summary+=("$(printf '%-16s %-6s runs=%-10s cov=%s' "$t" "$status" "$runs" "${cov:-?}")")
done
echo "fuzz: summary (${seconds}s per target; logs in fuzz/target/logs/)"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target crashed; artifacts under fuzz/artifacts/" >&2
  exit 1
fi
echo "fuzz: all targets ran without a crash"
