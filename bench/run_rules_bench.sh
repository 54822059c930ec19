#!/usr/bin/env bash
# Rule-scaling benchmark: vigil ingest (--threads 1) events per CPU-second with
# 10, 100 and 1,000 rules (bench/make_rule_variants.py), on the same corpus, in
# the same run, beside the simdjson parse-only floor of the same bytes.
#
# usage: bench/run_rules_bench.sh BUILD_DIR [EVENTS]
set -euo pipefail
build=${1:-build}
events=${2:-200000}
source "$(dirname "$0")/common.sh"
floor=$("$build/bench/simdjson_floor" "${files[@]}")
simd_cpu=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cpu_seconds"])' "$floor")

printf '%-8s %14s %9s %8s %12s\n' rules events/CPU-s "CPU s" alerts "vs 10 rules"
base=""
for n in 10 100 1000; do
  python3 "$root/bench/make_rule_variants.py" --out "$work/rules-$n" --count "$n" --seed 1 >/dev/null
  rm -rf "$work/data"
  /usr/bin/time -f '%U %S' -o "$work/time" env VIGIL_RULES="$work/rules-$n" \
    "$vigil" ingest --json --threads 1 --data "$work/data" "$corpus" >"$work/out" 2>/dev/null || true
  cpu=$(awk '{print $1+$2}' "$work/time")
  read -r ev alerts < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["events"], d["alerts"])' "$work/out")
  rate=$(python3 -c "print(round($ev/$cpu))")
  [ -z "$base" ] && base=$cpu
  printf '%-8s %14s %9.2f %8s %11.2fx\n' "$n" "$rate" "$cpu" "$alerts" "$(python3 -c "print($cpu/$base)")"
done
python3 -c "import sys; print(f'floor: simdjson parse-only {int(sys.argv[1])/float(sys.argv[2]):,.0f} events/CPU-s')" "$events" "$simd_cpu"
