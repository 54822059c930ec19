#!/usr/bin/env bash
# Cost of the behavioural pack (rules/aws/behaviour): `vigil ingest --threads 1`
# over a CloudTrail corpus plus VPC flow and Route 53 Resolver logs, with every
# shipped rule and with every shipped rule but the behavioural pack, in the
# same run. Reports instructions per event under callgrind (deterministic, so
# comparable on a loaded machine) and events per CPU-second (not).
#
# usage: bench/run_behaviour_bench.sh BUILD_DIR [EVENTS]   (EVENTS: CloudTrail records; as many network events)
set -euo pipefail
build=${1:-build}
events=${2:-20000}
source "$(dirname "$0")/common.sh"
net="$root/bench/corpus/network-$events"
if [ ! -f "$net/.done" ]; then
  rm -rf "$net"
  python3 "$root/bench/make_network_corpus.py" --out "$net" --events "$events" --seed 1
  touch "$net/.done"
fi
without=$(find "$root/rules" -mindepth 2 -maxdepth 2 -type d ! -name behaviour | sort | paste -sd:)
printf '%-22s %10s %14s %14s %8s\n' rules events "Ir/event" events/CPU-s alerts
for variant in without with; do
  if [ "$variant" = with ]; then dirs="$root/rules"; else dirs="$without"; fi
  rm -rf "$work/data"
  VIGIL_RULES="$dirs" valgrind --tool=callgrind --callgrind-out-file="$work/cg.$variant" \
    "$vigil" ingest --json --threads 1 --data "$work/data" "$corpus" "$net" >"$work/out.$variant" 2>"$work/err.$variant" || true
  ir=$(awk '/^summary:/ {print $2}' "$work/cg.$variant")
  rm -rf "$work/data"
  /usr/bin/time -f '%U %S' -o "$work/time" env VIGIL_RULES="$dirs" \
    "$vigil" ingest --json --threads 1 --data "$work/data" "$corpus" "$net" >"$work/out" 2>/dev/null || true
  cpu=$(awk '{print $1+$2}' "$work/time")
  read -r ev alerts < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["events"], d["alerts"])' "$work/out")
  printf '%-22s %10s %14s %14s %8s\n' "$variant behavioural pack" "$ev" "$((ir / ev))" \
    "$(python3 -c "print(round($ev/$cpu))")" "$alerts"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
