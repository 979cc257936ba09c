#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine. Idempotent; safe to re-run.
set -euo pipefail
need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# The certificate suite makes its PKI with openssl (tests/fixtures/certs/make.sh); the interop
# suite (tests/tests/interop.rs) checks warden against it.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# The PKCS#11 provider's tests run against a SoftHSMv2 token and check it with OpenSC's
# pkcs11-tool (issue 14). Installed when we are root (CI is); otherwise those tests skip
# with a printed reason, so a non-root developer is only told.
want_apt=()
command -v softhsm2-util >/dev/null 2>&1 || want_apt+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || want_apt+=(opensc)
if [ ${#want_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    need_apt+=("${want_apt[@]}")
  else
    echo "setup: ${want_apt[*]} missing; the PKCS#11 tests will skip (sudo apt-get install ${want_apt[*]})" >&2
  fi
fi
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
# cargo tools CI uses: cargo-deny (dependency policy, scripts/deny.sh) and, where a nightly
# toolchain is installed, cargo-fuzz (fuzz smoke run, scripts/fuzz.sh). From crates.io, pinned
# by their own lockfiles; built once (several minutes) and then found on PATH.
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "setup: installing cargo-deny" >&2
  cargo install --locked cargo-deny
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly' && ! cargo fuzz --version >/dev/null 2>&1; then
  echo "setup: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi
