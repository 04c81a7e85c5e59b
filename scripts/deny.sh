#!/usr/bin/env bash
# Licenses, banned crates and sources of every dependency (deny.toml), with cargo-deny
# (installed from crates.io when absent; a few minutes, once). Advisories are left out:
# their database comes from GitHub.
#   scripts/deny.sh            install if needed, then check
#   scripts/deny.sh --if-installed   check only where cargo-deny is already installed
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if ! command -v cargo-deny >/dev/null 2>&1; then
  if [[ "${1:-}" == "--if-installed" ]]; then
    log "cargo-deny is not installed: dependency check skipped (scripts/deny.sh installs it)"
    exit 0
  fi
  log "installing cargo-deny"
  cargo install cargo-deny --locked
fi
# Every platform's crates must be in the cache for cargo metadata, then no network.
cargo fetch --locked >/dev/null
cargo deny --offline check licenses bans sources
