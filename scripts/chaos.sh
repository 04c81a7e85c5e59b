#!/usr/bin/env bash
# The chaos test (tests/tests/chaos) for longer than CI runs it:
#   scripts/chaos.sh --minutes 30     new seeds one after another for 30 minutes
#   scripts/chaos.sh --seed 1234      one seed again (its schedule of faults and actions)
# Each run is CHAOS_SECONDS (default 90) of faults with CHAOS_USERS (default 8) users,
# then the verdict. It stops at the first seed that finds a violation and says which;
# every run's summary is appended to .run/chaos.log.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

minutes=10
seed=""
while (($#)); do
  case "$1" in
    --minutes) minutes="${2:?--minutes needs a number}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    *) die "unknown argument $1 (use --minutes N or --seed S)" ;;
  esac
done
[[ "$minutes" =~ ^[0-9]+$ ]] || die "--minutes must be a whole number"

ensure_packages
export CHAOS_SECONDS="${CHAOS_SECONDS:-90}"
mkdir -p .run
log "building the chaos test"
cargo test -p shop-e2e --test chaos --locked --no-run >/dev/null 2>&1 ||
  cargo test -p shop-e2e --test chaos --locked --no-run

run_seed() {
  local s="$1" out
  out=$(mktemp)
  log "seed $s (${CHAOS_SECONDS}s of faults)"
  if CHAOS_SEED="$s" cargo test -p shop-e2e --test chaos --locked -- --nocapture >"$out" 2>&1; then
    grep '^chaos seed' "$out" | tee -a .run/chaos.log
    rm -f "$out"
    return 0
  fi
  grep '^chaos seed' "$out" | tee -a .run/chaos.log || true
  echo "seed $s FAILED; the whole output is in $out (CHAOS_SEED=$s reproduces the schedule)" >&2
  return 1
}

if [[ -n "$seed" ]]; then
  run_seed "$seed"
  exit
fi

end=$((SECONDS + minutes * 60))
runs=0
while ((SECONDS < end)); do
  run_seed $(((RANDOM << 15) | RANDOM)) || exit 1
  runs=$((runs + 1))
done
log "$runs seeds in $minutes minutes: all clean"
