#!/usr/bin/env bash
# HTTP ingest benchmark: `vigil serve` (write-ahead log, every shipped rule,
# store) fed by bench/http_load over its ingest API, in two modes:
#   max    - 4 clients posting 1,000-record NDJSON bodies as fast as accepted
#            (sustained events/s);
#   rate   - a fixed offered rate (default 20,000 events/s), for request
#            latency and event-to-alert latency at a load the server carries.
# For each: events/s accepted (acknowledged once in the write-ahead log) and
# stored (parsed, detected and committed: stored events over the sending time
# plus the time the server took to catch up), request latency percentiles, the server's CPU seconds
# (from /proc, user + system) and events per server CPU-second, the load
# generator's own CPU beside it, and p99 event-to-alert latency read from the
# server's /metrics (vigil_event_to_alert_seconds over that run).
#
# The records are the ingest benchmark's corpus (bench/make_corpus.py, cached
# in bench/corpus/: Stratus Red Team records scaled up, ~99% routine reads),
# CORPUS_EVENTS of them (default 100,000) cycled with fresh event ids, so
# events/CPU-s compare with bench/run_ingest_bench.sh's.
#
# usage: bench/run_http_bench.sh BUILD_DIR [SECONDS] [RATE]
set -euo pipefail
build=${1:-build}
seconds=${2:-15}
rate=${3:-20000}
events=${CORPUS_EVENTS:-100000}
source "$(dirname "$0")/common.sh"  # root, corpus, vigil, work, files
load="$build/bench/http_load"
for bin in "$vigil" "$load"; do
  [ -x "$bin" ] || { echo "missing $bin: build first (make build)" >&2; exit 2; }
done
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; wait "$server" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-token
cat >"$work/serve.yaml" <<EOF
data_dir: $work/data
http:
  port: $port
  max_body_bytes: 64MiB
ingest:
  tokens: [$token]
EOF
export VIGIL_RULES="${VIGIL_RULES:-$root/rules}"
"$vigil" serve --config "$work/serve.yaml" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "vigil serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }

ticks=$(getconf CLK_TCK)
server_cpu() { awk -v t="$ticks" '{print ($14+$15)/t}' "/proc/$server/stat"; }

# vigil_commit_seconds' count and sum, for the commits a mode made.
commit_totals() {
  curl -fs "http://127.0.0.1:$port/metrics" |
    awk '/^vigil_commit_seconds_count/ {c=$2} /^vigil_commit_seconds_sum/ {s=$2} END {print c+0, s+0}'
}

run() {  # mode-name, extra args...
  local name=$1; shift
  local before after
  commit_totals >"$work/$name.commits"
  before=$(server_cpu)
  "$load" --url "http://127.0.0.1:$port/api/v1/ingest" --token "$token" --seconds "$seconds" \
    --metrics-url "http://127.0.0.1:$port/metrics" --input "${files[@]}" --json "$@" >"$work/$name.json"
  after=$(server_cpu)
  commit_totals >>"$work/$name.commits"
  python3 - "$work/$name.json" "$before" "$after" >"$work/$name.server" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(float(sys.argv[3]) - float(sys.argv[2]))
PY
}

echo "vigil serve on :$port, $seconds s per mode, rules from $VIGIL_RULES" >&2
run max
run rate --rate "$rate"

python3 - "$work" <<'PY'
import json, sys, os
work = sys.argv[1]
rows = []
for name in ("max", "rate"):
    r = json.load(open(os.path.join(work, name + ".json")))
    server_cpu = float(open(os.path.join(work, name + ".server")).read())
    (c0, s0), (c1, s1) = (map(float, l.split()) for l in open(os.path.join(work, name + ".commits")))
    rows.append((name, r, server_cpu, (int(c1 - c0), s1 - s0)))
print(f"{'mode':<22}{'accepted/s':>11}{'stored/s':>10}{'req p50 ms':>11}{'req p99 ms':>11}{'srv CPU s':>10}"
      f"{'ev/srv CPU-s':>13}{'gen CPU s':>10}{'ev/gen CPU-s':>13}{'e2a p99 s':>10}")
for name, r, cpu, (commits, commit_s) in rows:
    label = "max (4 clients)" if name == "max" else f"rate {r['offered_events_per_second']:,.0f}/s"
    p99 = r.get("event_to_alert_p99_seconds", -1)
    p99s = f"{p99:.3f}" if p99 >= 0 else "n/a"
    stored_rate = r['server_stored_events'] / (r['seconds'] + r['server_drain_seconds'])
    print(f"{label:<22}{r['events_per_second']:>11,.0f}{stored_rate:>10,.0f}{r['latency_p50_ms']:>11.1f}{r['latency_p99_ms']:>11.1f}"
          f"{cpu:>10.2f}{(r['server_stored_events'] / cpu if cpu > 0 else 0):>13,.0f}"
          f"{r['generator_cpu_seconds']:>10.2f}{r['generator_events_per_cpu_second']:>13,.0f}{p99s:>10}")
    if r.get("errors") or r.get("refused"):
        print(f"  {name}: {r['refused']} refused (429/503, retried), {r['errors']} errors {r.get('last_error', '')}")
    print(f"  {name}: server stored {r['server_stored_events']:,.0f} of {r['events']:,} accepted events "
          f"({r['server_drain_seconds']:.1f} s to drain after sending); "
          f"{r['event_to_alert_count']:,} alerted events in the latency histogram; "
          f"{commits} commits, {commit_s:.2f} s in them ({commit_s / max(commits, 1):.3f} s each)")
PY
