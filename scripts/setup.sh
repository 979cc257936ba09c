#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine. Idempotent; safe to re-run.
set -euo pipefail
need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)  # interop suite (tests/tests/interop.rs)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "setup: missing ${need_apt[*]}; install them (sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi
# rustfmt and clippy ship with the toolchain; make sure they are present.
rustup component add rustfmt clippy >/dev/null 2>&1 || true
