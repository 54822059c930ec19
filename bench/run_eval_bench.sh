#!/usr/bin/env bash
# Detection benchmark (issue 6): `vigil eval` on a week of a 500-principal
# organisation with every attack scenario: the per-scenario table, recall,
# precision and false alerts per million benign events, and how long
# simulation and scoring (ingest with every rule pack) take.
#
# usage: bench/run_eval_bench.sh BUILD_DIR [DAYS] [PRINCIPALS] [EVENTS_PER_WEEKDAY] [SEED]
#   defaults: 7 days, 500 principals, 200,000 routine records a weekday, seed 1
set -euo pipefail
build=${1:-build}
days=${2:-7}
principals=${3:-500}
events=${4:-200000}
seed=${5:-1}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vigil="$build/src/cli/vigil"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load before: $(uptime | sed 's/.*load average: //')"
/usr/bin/time -f '%e s wall, %U+%S s CPU, %M KiB peak' -o "$work/time.sim" \
  "$vigil" simulate --days "$days" --principals "$principals" --events "$events" --seed "$seed" --attacks all \
  --out "$work/sim" >"$work/sim.txt" 2>/dev/null
head -2 "$work/sim.txt"
echo "simulate: $(cat "$work/time.sim")"
/usr/bin/time -f '%e s wall, %U+%S s CPU, %M KiB peak' -o "$work/time.eval" \
  "$vigil" eval "$work/sim" >"$work/eval.txt" 2>"$work/eval.err" || { cat "$work/eval.err" >&2; exit 1; }
cat "$work/eval.txt"
echo "eval (ingest and score): $(cat "$work/time.eval")"
echo "load after: $(uptime | sed 's/.*load average: //')"
