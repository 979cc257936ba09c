#!/usr/bin/env bash
# Dependency policy (deny.toml): licences, bans and sources always; RustSec advisories
# against the freshest database this machine can reach.
#
# Build machines here reach only the package registries, not GitHub, so the advisory
# database may not be fetchable. Order of preference:
#   1. fetch it (any machine with GitHub access);
#   2. WARDEN_ADVISORY_DB=<path to a git checkout or bare repo of rustsec/advisory-db>
#      (copied into cargo-deny's cache, then checked --offline);
#   3. a database a previous run left in cargo-deny's cache (--offline);
#   4. none: licences/bans/sources still gate; the advisory check is reported as NOT RUN.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "deny: cargo-deny missing (scripts/setup.sh installs it)" >&2
    exit 1
fi
cargo deny --log-level error check licenses bans sources

db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
# cargo-deny keeps the default database in <db_root>/advisory-db-<hash of its url>
# (cargo-deny 0.20 names https://github.com/rustsec/advisory-db "3157b0e258782691"; a failed
# `cargo deny fetch db` prints the path it wanted).
db="$db_root/advisory-db-3157b0e258782691"
cargo deny --log-level error fetch db >/dev/null 2>&1 || true
if [ ! -d "$db/crates" ] && [ -n "${WARDEN_ADVISORY_DB:-}" ]; then
    rm -rf "$db"
    mkdir -p "$db_root"
    git clone -q "$WARDEN_ADVISORY_DB" "$db"
fi
if [ -d "$db/crates" ]; then
    # A failed fetch leaves the previous copy in place: say how old the database is.
    echo "deny: RustSec advisory database of $(git -C "$db" log -1 --format=%cs 2>/dev/null || echo 'unknown date')"
    cargo deny --offline --log-level error check advisories
else
    echo "deny: ADVISORIES NOT CHECKED: the RustSec database is unreachable from this machine and no local copy exists (set WARDEN_ADVISORY_DB)" >&2
fi
