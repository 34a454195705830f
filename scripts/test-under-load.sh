#!/usr/bin/env bash
# Runs README's test command N times in a row (default 3) while another process keeps every core
# busy, as the tests must pass on a loaded machine: nothing in them may depend on timing.
# Needs `stress` (Debian: apt-get install stress); pass extra jest arguments after N.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
cores=$(nproc)
stress --cpu "$cores" --quiet &
load=$!
trap 'kill $load 2>/dev/null || true' EXIT
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  echo "== run $i of $runs, with $cores cores loaded by stress (pid $load)"
  npm test -- "$@"
  echo "== run $i passed in $(( $(date +%s) - start )) s"
done
