#!/bin/sh
# bench/ping/ping.sh — ping/pingd against irtt and a plain Go UDP echo, on
# loopback, in one run. Prints a report and writes raw output to $OUT.
#
#   1. RTT at -i 1ms for $DUR s, repeated $REPS times, interleaved:
#      irtt client → irtt server (--timer=busy, and the default timer; server
#      -i 0), our ping → pingd (both with their stages fused into the
#      reader's goroutine, the default), our ping -fused=false → pingd
#      -fused=false (a goroutine per stage: three hand-offs on each side),
#      our ping → plainecho (isolates the server pipeline).
#   2. Rate: ping → pingd and irtt at 100us, 50us, 20us, 10us for $RATE_DUR s:
#      achieved packets/s and loss; the highest rate with < 0.1 % loss wins.
#
# Env: DUR=10 REPS=3 RATE_DUR=5 OUT=/tmp/netstages-bench-ping SIZE=60
# Needs: go, python3; installs irtt with apt-get when missing (without it,
# the irtt rows are skipped and the report says so).
set -eu
DUR=${DUR:-10}
REPS=${REPS:-3}
RATE_DUR=${RATE_DUR:-5}
SIZE=${SIZE:-60}
OUT=${OUT:-/tmp/netstages-bench-ping}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT/bin"
rm -f "$OUT"/*.json "$OUT"/*.txt

if ! command -v irtt >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends irtt >/dev/null 2>&1 ||
    echo "irtt is not available here (apt-get install irtt failed): irtt rows skipped"
fi
HAVE_IRTT=0
command -v irtt >/dev/null 2>&1 && HAVE_IRTT=1

cd "$ROOT"
go build -o "$OUT/bin/ping" ./cmd/ping
go build -o "$OUT/bin/pingd" ./cmd/pingd
go build -o "$OUT/bin/plainecho" ./bench/ping/plainecho

PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 1' INT TERM  # exit, which runs cleanup; a bare trap would carry on
"$OUT/bin/pingd" -addr 127.0.0.1:12100 >"$OUT/pingd.log" 2>&1 & PIDS="$PIDS $!"
"$OUT/bin/plainecho" -addr 127.0.0.1:12101 >"$OUT/plainecho.log" 2>&1 & PIDS="$PIDS $!"
"$OUT/bin/pingd" -fused=false -addr 127.0.0.1:12102 >"$OUT/pingdstages.log" 2>&1 & PIDS="$PIDS $!"
if [ $HAVE_IRTT = 1 ]; then
  irtt server -b 127.0.0.1:2112 -i 0 >"$OUT/irtt-server.log" 2>&1 & PIDS="$PIDS $!"
fi
sleep 1

# busy_pct: how busy the whole box was over one second, from /proc/stat.
busy_pct() {
  a=$(head -1 /proc/stat); sleep 1; b=$(head -1 /proc/stat)
  echo "$a
$b" | awk 'NR==1{for(i=2;i<=NF;i++)t1+=$i; i1=$5+$6} NR==2{for(i=2;i<=NF;i++)t2+=$i; i2=$5+$6}
    END{printf "%d", 100*(1-(i2-i1)/(t2-t1))}'
}
# Wait up to QUIET_WAIT seconds for three seconds in a row under 25 % busy:
# other sessions share the box. The report says how busy it was.
QUIET_WAIT=${QUIET_WAIT:-120}
waited=0
quiet=0
while [ $quiet -lt 3 ] && [ $waited -lt "$QUIET_WAIT" ]; do
  if [ "$(busy_pct)" -lt 25 ]; then quiet=$((quiet + 1)); else quiet=0; fi
  waited=$((waited + 1))
done
echo "machine: $(nproc) CPUs, $(busy_pct)% busy at start after waiting ${waited}s (QUIET_WAIT=$QUIET_WAIT), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/env.txt"
n=$((DUR * 1000))
for rep in $(seq 1 "$REPS"); do
  echo "rtt round $rep/$REPS"
  if [ $HAVE_IRTT = 1 ]; then
    irtt client -q -i 1ms -d "${DUR}s" -l "$SIZE" --timer=busy -o "$OUT/rtt_irtt_$rep.json" 127.0.0.1:2112 >/dev/null
    # irtt's default timer sleeps between sends, as our pacer does.
    irtt client -q -i 1ms -d "${DUR}s" -l "$SIZE" -o "$OUT/rtt_irttcomp_$rep.json" 127.0.0.1:2112 >/dev/null
  fi
  "$OUT/bin/ping" -q -json -c "$n" -i 1ms -W 1s -s "$SIZE" 127.0.0.1:12100 >"$OUT/rtt_pingd_$rep.json" || true
  "$OUT/bin/ping" -fused=false -q -json -c "$n" -i 1ms -W 1s -s "$SIZE" 127.0.0.1:12102 >"$OUT/rtt_pingdstages_$rep.json" || true
  "$OUT/bin/ping" -q -json -c "$n" -i 1ms -W 1s -s "$SIZE" 127.0.0.1:12101 >"$OUT/rtt_plain_$rep.json" || true
done
for iv in 100us 50us 20us 10us; do
  echo "rate $iv"
  us=${iv%us}
  c=$((RATE_DUR * 1000000 / us))
  "$OUT/bin/ping" -q -json -c "$c" -i "$iv" -W 1s -s "$SIZE" 127.0.0.1:12100 >"$OUT/rate_pingd_$iv.json" || true
  if [ $HAVE_IRTT = 1 ]; then
    irtt client -q -i "$iv" -d "${RATE_DUR}s" -l "$SIZE" --timer=busy -o "$OUT/rate_irtt_$iv.json" 127.0.0.1:2112 >/dev/null || true
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg), $(busy_pct)% busy with our servers idle" | tee -a "$OUT/env.txt"
python3 "$ROOT/bench/ping/report.py" "$OUT" | tee "$OUT/report.txt"
