#!/usr/bin/env bash
# SMTP client benchmark (issue 7), in the shape of shared/anchors/RESULTS.md §4:
# a go-smtp v0.25.1 sink on 127.0.0.1 that discards and counts, and N messages
# of SIZE body bytes sent by each client, REPS rounds interleaved in one run.
# Prints every run, the medians and the ratio to net/smtp.
#
#   bench/smtp/run.sh                 # N=2000 SIZE=10240 REPS=5
#   N=500 REPS=3 bench/smtp/run.sh    # quicker
#
# Cases: reuse = one connection for all N; fresh = dial, EHLO, MAIL, RCPT,
# DATA, QUIT per message. "netstages x4" is our client with 4 goroutines
# sharing its one connection, so the next message's envelope rides with the
# current content (one round trip per message). "netstages-fused" runs the
# framer and parser in the reader's goroutine and the writer in the session's
# (smtp.Config.Fused): two goroutines instead of five. "-window 8" is one
# goroutine using Client.Submit to keep 8 messages in flight.
set -euo pipefail
N=${N:-2000}
SIZE=${SIZE:-10240}
REPS=${REPS:-5}
PORT=${PORT:-2526}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$root" && go build -o "$work/sink" ./bench/smtp/sink && go build -o "$work/client" ./bench/smtp/client)
"$work/sink" -addr "127.0.0.1:$PORT" >"$work/sink.out" &
sink_pid=$!
sleep 0.5

cases=(
  "netstages reuse 1"
  "netstages reuse 1 -no-chunking"
  "netstages reuse 4"
  "netstages reuse 1 -window 8"
  "netstages-fused reuse 1"
  "netstages-fused reuse 1 -no-chunking"
  "netstages-fused reuse 4"
  "netsmtp reuse 1"
  "gomail reuse 1"
  "netstages fresh 1"
  "netstages-fused fresh 1"
  "netsmtp fresh 1"
  "gomail fresh 1"
)
echo "# $(date -u +%FT%TZ) N=$N SIZE=$SIZE REPS=$REPS nproc=$(nproc) go=$(go env GOVERSION)"
for rep in $(seq 1 "$REPS"); do
  for c in "${cases[@]}"; do
    set -- $c
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$("$work/client" -addr "127.0.0.1:$PORT" -lib "$1" -mode "$2" -senders "$3" "${@:4}" -n "$N" -size "$SIZE")
    echo "rep=$rep load1=$load $line"
  done
done | tee "$work/runs.txt"
kill -INT "$sink_pid"
wait "$sink_pid" || true
cat "$work/sink.out"

python3 - "$work/runs.txt" <<'PY'
import statistics, sys
runs, by_rep = {}, {}
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split())
    key = (f["lib"], f["mode"], f["senders"], f["window"], f.get("chunking", "true"))
    runs.setdefault(key, []).append(float(f["msgs_per_s"]))
    by_rep.setdefault(f["rep"], {})[key] = float(f["msgs_per_s"])
def med(k): return statistics.median(runs[k])
print("\n| client | mode | msgs/s (each run) | median | median ÷ net/smtp median | per-round ratio to net/smtp: median (range) |")
print("|---|---|---|---|---|---|")
for (lib, mode, senders, window, chunking), v in runs.items():
    base = ("netsmtp", mode, "1", "0", "true")
    key = (lib, mode, senders, window, chunking)
    ratios = sorted(r[key] / r[base] for r in by_rep.values())
    name = {"netstages": "netstages", "netstages-fused": "netstages, fused", "netsmtp": "Go net/smtp", "gomail": "go-mail v0.8.1"}[lib]
    if senders != "1": name += f" ({senders} senders, one conn)"
    if window != "0": name += f" (one goroutine, Submit {window} ahead)"
    if lib.startswith("netstages"): name += ", BDAT" if chunking == "true" else ", DATA (-no-chunking)"
    print(f"| {name} | {mode} | {', '.join(f'{x:.0f}' for x in v)} | **{med(key):.0f}** | "
          f"{med(key)/med(base):.2f}× | {statistics.median(ratios):.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f}) |")
PY
