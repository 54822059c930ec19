#!/usr/bin/env bash
# Ingest benchmark: vigil ingest (parse, every shipped rule, store) in events per
# CPU-second of the vigil process (user + system), beside two floors measured in
# the same run on the same bytes: simdjson parse-only and `zstd -1`.
#
# usage: bench/run_ingest_bench.sh BUILD_DIR [EVENTS]
set -euo pipefail
build=${1:-build}
events=${2:-1000000}
source "$(dirname "$0")/common.sh"
echo "corpus: ${#files[@]} files, $events events" >&2

cpu_of() {  # runs "$@", prints user+sys CPU seconds of it (and its children) on fd 3
  local t
  t=$( { /usr/bin/time -f '%U %S %M' "$@" >"$work/out" 2>"$work/err"; } 2>&1 ) || true
  tail -1 "$work/err" | awk '{print $1+$2, $3}'
}

# vigil: full ingest into a fresh data directory, in both pipeline modes:
# one thread (least CPU per event) and the default (parsing on a second thread).
read -r vigil_cpu vigil_rss < <(cpu_of "$vigil" ingest --json --threads 1 --data "$work/data" "$corpus")
vigil_events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$work/out")
vigil_bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$work/out")
vigil_wall=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$work/out")
stored=$(du -sb "$work/data/events" | cut -f1)
rm -rf "$work/data"
read -r vigil2_cpu vigil2_rss < <(cpu_of "$vigil" ingest --json --threads 2 --data "$work/data" "$corpus")
vigil2_wall=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$work/out")

# Floor 1: simdjson DOM parse of the same decompressed bytes (inflate not timed).
floor=$("$build/bench/simdjson_floor" "${files[@]}")
simd_cpu=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cpu_seconds"])' "$floor")

# Floor 2: zstd -1 of the same decompressed bytes.
for f in "${files[@]}"; do gzip -dc "$f"; done > "$work/corpus.json"
read -r zstd_cpu zstd_rss < <(cpu_of zstd -1 -q -c "$work/corpus.json")
zstd_size=$(zstd -1 -q -c "$work/corpus.json" | wc -c)

python3 - "$vigil_events" "$vigil_cpu" "$vigil_rss" "$vigil_bytes" "$simd_cpu" "$zstd_cpu" "$stored" "$zstd_size" \
  "$vigil2_cpu" "$vigil_wall" "$vigil2_wall" <<'PY'
import sys
ev, vcpu, vrss, vbytes, scpu, zcpu, stored, zsize, v2cpu, vwall, v2wall = sys.argv[1:]
ev = int(ev); vcpu = float(vcpu); scpu = float(scpu); zcpu = float(zcpu); vbytes = int(vbytes); v2cpu = float(v2cpu)
rate = ev / vcpu
print(f"{'measure':<38}{'events/CPU-s':>14}{'MB/CPU-s':>12}{'CPU s':>9}{'wall s':>9}")
print(f"{'vigil ingest --threads 1':<38}{rate:>14,.0f}{vbytes/vcpu/1e6:>12,.0f}{vcpu:>9.2f}{float(vwall):>9.2f}")
print(f"{'vigil ingest --threads 2 (default)':<38}{ev/v2cpu:>14,.0f}{vbytes/v2cpu/1e6:>12,.0f}{v2cpu:>9.2f}{float(v2wall):>9.2f}")
print(f"{'floor: simdjson parse-only':<38}{ev/scpu:>14,.0f}{vbytes/scpu/1e6:>12,.0f}{scpu:>9.2f}")
print(f"{'floor: zstd -1':<38}{ev/zcpu:>14,.0f}{vbytes/zcpu/1e6:>12,.0f}{zcpu:>9.2f}")
print(f"vigil (1 thread) / simdjson floor: {rate/(ev/scpu):.3f}   / zstd -1 floor: {rate/(ev/zcpu):.3f}")
print(f"vigil peak RSS: {int(vrss)/1024:.0f} MiB; stored {int(stored)/1e6:.1f} MB vs zstd -1 {int(zsize)/1e6:.1f} MB "
      f"of {vbytes/1e6:.1f} MB raw")
PY
