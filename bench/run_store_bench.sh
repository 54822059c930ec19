#!/usr/bin/env bash
# Store benchmark: vigil beside DuckDB on one CloudTrail corpus, in one run.
#
#   load     vigil ingest --no-detect (whole process: wall and user+sys CPU)
#            DuckDB: CREATE TABLE AS read_json(newline_delimited, union_by_name),
#            then CHECKPOINT (in a node process: wall and its user+sys CPU)
#   size     vigil's whole data directory vs DuckDB's database file
#   queries  (a) one source IP's events, (b) one principal's Get*/List* calls,
#            (c) count by eventName, (d) hourly counts, (e) distinct source IPs
#            per principal, top 10: vigil as whole `vigil hunt` processes,
#            DuckDB inside its open connection; best of 3 each. Plus `rg` over
#            the NDJSON for (a), the brute-force floor.
#
# Both load the same NDJSON (one CloudTrail record a line, made from the
# cached corpus; making it is not timed). DuckDB comes from npm
# (bench/duckdb/package.json, installed here on first use).
#
# usage: bench/run_store_bench.sh BUILD_DIR [EVENTS]
set -euo pipefail
build=${1:-build}
events=${2:-1000000}
source "$(dirname "$0")/common.sh"
echo "corpus: ${#files[@]} files, $events events" >&2

duck="$root/bench/duckdb"
if [ ! -d "$duck/node_modules/@duckdb/node-api" ]; then
  echo "installing @duckdb/node-api in bench/duckdb" >&2
  (cd "$duck" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
command -v rg >/dev/null || { echo "rg (ripgrep) is not installed: make deps" >&2; exit 1; }

ndjson="$work/events.ndjson"
python3 - "$ndjson" "$work/picks.json" "${files[@]}" <<'PY'
import collections, gzip, json, sys
out, picks, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
ips, arns = collections.Counter(), collections.Counter()
with open(out, "w") as f:
    for p in paths:
        with gzip.open(p, "rt") as g:
            for r in json.load(g)["Records"]:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
                ips[r.get("sourceIPAddress")] += 1
                arn = (r.get("userIdentity") or {}).get("arn")
                name = r.get("eventName", "")
                if arn and (name.startswith("Get") or name.startswith("List")):
                    arns[arn] += 1
# A needle of typical size: the source IP and the principal with the median count.
def median(c):
    items = sorted((n, k) for k, n in c.items() if k)
    return items[len(items) // 2][1]
json.dump({"ip": median(ips), "arn": median(arns)}, open(picks, "w"))
PY
ip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' "$work/picks.json")
arn=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["arn"])' "$work/picks.json")
ndjson_bytes=$(stat -c %s "$ndjson")
echo "ndjson: $ndjson_bytes bytes; source IP $ip; principal $arn" >&2

# ---- vigil load
# Segment format v2 is the default (VIGIL_SEGMENT_FORMAT=1 in the environment measures v1).
/usr/bin/time -f '%e %U %S' -o "$work/vtime" "$vigil" ingest --no-detect --json --data "$work/vdata" "$ndjson" >"$work/vload"
read -r v_wall v_user v_sys <"$work/vtime"
v_bytes=$(du -sb "$work/vdata" | cut -f1)

# ---- vigil queries: whole processes, best of 3; "pending" when hunt rejects the query
queries=(
  "sourceIPAddress=$ip"
  "userIdentity.arn=$arn (eventName=Get* OR eventName=List*)"
  "source=cloudtrail | stats count() by eventName"
  "source=cloudtrail | stats count() by bin(time, 1h)"
  "source=cloudtrail | stats dc(sourceIPAddress) AS ips by userIdentity.arn | sort -ips | head 10"
)
: >"$work/vq"
for q in "${queries[@]}"; do
  best=""; cpu=""; rows=""
  for _ in 1 2 3; do
    if /usr/bin/time -f '%e %U %S' -o "$work/qt" "$vigil" hunt --json --data "$work/vdata" "$q" >"$work/qout" 2>"$work/qerr"; then
      read -r t u s <"$work/qt"; rows=$(wc -l <"$work/qout")
      if [ -z "$best" ] || python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$t" "$best"; then
        best=$t; cpu=$(python3 -c 'import sys; print(float(sys.argv[1]) + float(sys.argv[2]))' "$u" "$s")
      fi
    else
      best="pending"; rows=$(head -c 200 "$work/qerr" | tr '\n\t' '  '); break
    fi
  done
  printf '%s\t%s\t%s\n' "$best" "$cpu" "$rows" >>"$work/vq"
done

# ---- rg floor for (a)
rg_best=""
for _ in 1 2 3; do
  /usr/bin/time -f '%e' -o "$work/rt" rg -F "\"sourceIPAddress\":\"$ip\"" "$ndjson" >"$work/rout" || true
  t=$(cat "$work/rt")
  rg_best=$(python3 -c 'import sys; a=sys.argv[1]; b=float(sys.argv[2]); print(b if not a else min(float(a), b))' "$rg_best" "$t")
done
rg_rows=$(wc -l <"$work/rout")

# ---- DuckDB: load, size and queries in one node process
cat >"$work/duck.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const [db, ndjson, ip, arn] = process.argv.slice(2);
const esc = (s) => s.replaceAll("'", "''");
const instance = await DuckDBInstance.create(db);
const con = await instance.connect();
const cpu0 = process.cpuUsage(), t0 = performance.now();
await con.run(`CREATE TABLE events AS SELECT * FROM read_json('${esc(ndjson)}', format='newline_delimited', union_by_name=true)`);
await con.run('CHECKPOINT');
const load_s = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const queries = [
  `SELECT * FROM events WHERE sourceIPAddress = '${esc(ip)}'`,
  `SELECT * FROM events WHERE userIdentity.arn = '${esc(arn)}' AND (eventName LIKE 'Get%' OR eventName LIKE 'List%')`,
  `SELECT eventName, count(*) AS count FROM events GROUP BY eventName`,
  `SELECT date_trunc('hour', CAST(eventTime AS TIMESTAMP)) AS hour, count(*) AS count FROM events GROUP BY hour ORDER BY hour`,
  `SELECT userIdentity.arn AS principal, count(DISTINCT sourceIPAddress) AS ips FROM events GROUP BY principal ORDER BY ips DESC LIMIT 10`,
];
const out = [];
for (const q of queries) {
  let best = Infinity, rows = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const reader = await con.runAndReadAll(q);
    rows = reader.getRows().length;
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  out.push({ seconds: best, rows });
}
console.log(JSON.stringify({ load_s, load_cpu_s: (cpu.user + cpu.system) / 1e6, queries: out }));
JS
cp "$work/duck.mjs" "$duck/.run.mjs"
node "$duck/.run.mjs" "$work/events.duckdb" "$ndjson" "$ip" "$arn" >"$work/dout"
rm -f "$duck/.run.mjs"
d_bytes=$(( $(stat -c %s "$work/events.duckdb") + $( [ -f "$work/events.duckdb.wal" ] && stat -c %s "$work/events.duckdb.wal" || echo 0) ))

python3 - "$work/vload" "$v_wall" "$v_user" "$v_sys" "$v_bytes" "$work/vq" "$work/dout" "$d_bytes" \
  "$rg_best" "$rg_rows" "$ndjson_bytes" <<'PY'
import json, sys
vload, vwall, vuser, vsys, vbytes, vq, dout, dbytes, rg_s, rg_rows, nd = sys.argv[1:]
v = json.load(open(vload)); d = json.load(open(dout))
events = v["events"]; vcpu = float(vuser) + float(vsys)
print(f"{events:,} CloudTrail events, {int(nd)/1e6:,.0f} MB of NDJSON")
print(f"{'':<44}{'vigil':>14}{'DuckDB':>14}{'ratio':>10}")
print(f"{'load wall s':<44}{float(vwall):>14.2f}{d['load_s']:>14.2f}{d['load_s']/float(vwall):>10.2f}")
print(f"{'load CPU s':<44}{vcpu:>14.2f}{d['load_cpu_s']:>14.2f}{d['load_cpu_s']/vcpu:>10.2f}")
print(f"{'events per CPU-second':<44}{events/vcpu:>14,.0f}{events/d['load_cpu_s']:>14,.0f}{(events/vcpu)/(events/d['load_cpu_s']):>10.2f}")
print(f"{'bytes on disk (MB)':<44}{int(vbytes)/1e6:>14.1f}{int(dbytes)/1e6:>14.1f}{int(vbytes)/int(dbytes):>10.2f}")
names = ["(a) one source IP", "(b) one principal's Get*/List*", "(c) count by eventName",
         "(d) hourly counts", "(e) distinct IPs per principal, top 10"]
for i, line in enumerate(open(vq).read().splitlines()):
    vt, vcpu_q, vrows = line.split("\t", 2)
    dq = d["queries"][i]
    if vt == "pending":
        print(f"{names[i]:<44}{'pending':>14}{dq['seconds']:>14.3f}{'':>10}   vigil: {vrows.strip()[:90]}")
    else:
        print(f"{names[i]:<44}{float(vt):>14.3f}{dq['seconds']:>14.3f}{float(vt)/dq['seconds']:>10.2f}   rows {vrows.strip()} / {dq['rows']}; vigil CPU {float(vcpu_q):.2f} s")
print(f"{'(a) rg over the NDJSON (floor)':<44}{float(rg_s):>14.3f}{'':>14}{'':>10}   rows {rg_rows.strip()}")
print("vigil: whole processes (vigil hunt --json), wall s; DuckDB: in an open connection; best of 3; "
      "ratio = vigil / DuckDB for times, DuckDB / vigil for CPU")
PY
