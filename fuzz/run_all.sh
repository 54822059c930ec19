#!/usr/bin/env bash
# Runs every built fuzzer for N seconds with its seeds; fails on the first crash.
# usage: fuzz/run_all.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
for bin in "$build"/fuzz/*_fuzzer; do
  name=$(basename "$bin" _fuzzer)
  seeds="$here/seeds/${name%%_*}"
  corpus="$here/corpus-$name"
  mkdir -p "$corpus"
  echo "== $name ($seconds s)"
  args=("$corpus")
  [ -d "$seeds" ] && args+=("$seeds")
  "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${args[@]}" 2>&1 | tail -5
done
