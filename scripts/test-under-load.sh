#!/usr/bin/env bash
# Runs the whole test command (`npm test`) while two CPU-bound processes keep both cores busy, then
# prints the elapsed time and the exit status. The load is bounded (it ends with the tests, and at
# the latest after LOAD_MAX_SECONDS) and killed on any exit, failure or Ctrl-C included.
# Usage: scripts/test-under-load.sh [args passed to npm test, e.g. a path filter after --]
set -uo pipefail
cd "$(dirname "$0")/.."

max="${LOAD_MAX_SECONDS:-1800}"
hogs=()
stop_hogs() {
  for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${hogs[@]}"; do wait "$p" 2>/dev/null; done
  hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in 1 2; do
  # a busy loop that ends by itself after $max seconds even if this script is killed with SIGKILL
  timeout "$max" node -e 'for (;;) {}' &
  hogs+=("$!")
done
echo "== load: ${#hogs[@]} CPU-bound processes (pids ${hogs[*]}), at most ${max} s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

start=$(date +%s)
npm test "$@"
status=$?
elapsed=$(($(date +%s) - start))
stop_hogs
echo "== npm test under load: exit status ${status}, elapsed ${elapsed} s ($((elapsed / 60)) min $((elapsed % 60)) s); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
