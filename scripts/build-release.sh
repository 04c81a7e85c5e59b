#!/usr/bin/env bash
# The release build of what ships: order-svc, payment-svc, delivery-svc, gateway and
# shopctl. Defined here once; the Dockerfile, scripts/bench.sh and scripts/up.sh run
# this script (tests/tests/deploy checks that none of them spells out its own).
#   scripts/build-release.sh [CARGO_ARGS...]   cargo build of the shipped binaries, plus
#                                              extra arguments (bench.sh adds -p shop-bench)
#   scripts/build-release.sh --deps-only RECIPE
#                                              the same selection through `cargo chef cook`:
#                                              only the dependencies (the Dockerfile's
#                                              cached layer)
set -euo pipefail
cd "$(dirname "$0")/.."

SHIPPED=(--release --locked -p order-svc -p payment-svc -p delivery-svc -p gateway --bins)

if [ "${1:-}" = --deps-only ]; then
  [ $# = 2 ] || { echo "usage: scripts/build-release.sh --deps-only RECIPE" >&2; exit 2; }
  exec cargo chef cook --recipe-path "$2" "${SHIPPED[@]}"
fi
exec cargo build "${SHIPPED[@]}" "$@"
