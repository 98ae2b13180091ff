#!/usr/bin/env bash
# bench/proxy/run.sh: cache hits and the miss path of netstages proxy against
# Squid (memory cache) and, for misses, Go's httputil.ReverseProxy with a
# tuned Transport, all in front of the same nginx origin, in one run,
# interleaved round by round. Prints medians and ratios. Not part of
# `make test`.
#
#   bench/proxy/run.sh                      # defaults: ROUNDS=5 DUR=5s
#   ROUNDS=3 DUR=8s CONNS="16 64" bench/proxy/run.sh
#
# The origin serves /1k with Cache-Control: max-age=3600 (hits) and
# /nocache/1k with no-store (every request is a miss). wrk sends
# absolute-form requests (GET http://127.0.0.1:PORT/1k) as a browser
# configured with a proxy does. Access logs are off everywhere.
# Installs wrk, nginx-light and squid when missing. Starts and stops every
# process by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-5}
DUR=${DUR:-5s}
CONNS=${CONNS:-"16 64"}

need() { command -v "$1" >/dev/null 2>&1; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
if ! need wrk || ! need nginx || ! need squid; then
  echo "installing wrk, nginx-light and squid"
  $SUDO apt-get install -y -qq wrk nginx-light squid >/dev/null || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk nginx-light squid >/dev/null; }
  # The package starts a system squid on :3128; this script runs its own.
  $SUDO systemctl stop squid 2>/dev/null || $SUDO service squid stop 2>/dev/null || true
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
SQUID=$(command -v squid || echo /usr/sbin/squid)

work=$(mktemp -d /tmp/bench-proxy.XXXXXX)
chmod 755 "$work"
OUT=${OUT:-$work/results.txt}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$work/root/nocache" "$work/bin" "$work/logs" "$work/squid"
head -c 1024 /dev/urandom >"$work/root/1k"
cp "$work/root/1k" "$work/root/nocache/1k"
chmod -R a+rX "$work/root"
chmod 777 "$work/squid" "$work/logs"

go build -o "$work/bin/proxy" ./cmd/proxy
go build -o "$work/bin/goproxy" ./bench/proxy/goproxy

ORIGIN=127.0.0.1:18290
declare -A port=([proxy]=18291 [goproxy]=18292 [squid]=18293)
declare -A pid

cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/logs;
  proxy_temp_path $work/logs;
  fastcgi_temp_path $work/logs;
  uwsgi_temp_path $work/logs;
  scgi_temp_path $work/logs;
  server {
    listen $ORIGIN;
    root $work/root;
    location /nocache/ { add_header Cache-Control no-store; }
    location / { add_header Cache-Control "max-age=3600"; }
  }
}
CONF

cat >"$work/squid.conf" <<CONF
http_port 127.0.0.1:${port[squid]}
acl localnet src 127.0.0.0/8
http_access allow localnet
http_access deny all
cache_mem 256 MB
maximum_object_size_in_memory 512 KB
access_log none
cache_log $work/squid/cache.log
pid_filename $work/squid/squid.pid
coredump_dir $work/squid
visible_hostname bench-squid
shutdown_lifetime 1 seconds
CONF

"$NGINX" -c "$work/nginx.conf" -p "$work" -g 'daemon off;' >"$work/logs/nginx.out" 2>&1 &
pids+=($!)

start() {
  case $1 in
    proxy) "$work/bin/proxy" -addr 127.0.0.1:${port[proxy]} -access-log off -cache-size 256MiB >"$work/logs/proxy.out" 2>&1 & pid[$1]=$! ;;
    goproxy) "$work/bin/goproxy" -addr 127.0.0.1:${port[goproxy]} -max-idle-per-host 256 >"$work/logs/goproxy.out" 2>&1 & pid[$1]=$! ;;
    squid) "$SQUID" -N -f "$work/squid.conf" >"$work/logs/squid.out" 2>&1 & pid[$1]=$! ;;
  esac
  pids+=("${pid[$1]}")
  for _ in $(seq 100); do
    curl -s -o /dev/null -x "http://127.0.0.1:${port[$1]}" "http://$ORIGIN/1k" && return 0
    sleep 0.1
  done
  echo "$1 did not start; see $work/logs" >&2; exit 1
}
for s in proxy goproxy squid; do start "$s"; done

# Warm and confirm: the second request must be a hit at our proxy and Squid.
for s in proxy squid; do
  curl -s -o /dev/null -x "http://127.0.0.1:${port[$s]}" "http://$ORIGIN/1k"
  h=$(curl -s -D - -o /dev/null -x "http://127.0.0.1:${port[$s]}" "http://$ORIGIN/1k" | tr -d '\r' | grep -i '^X-Cache:' || true)
  echo "# $s second request: $h" | tee -a "$OUT"
done

echo "# $(date -u +%FT%TZ) $(nproc) cpus; load: $(cut -d' ' -f1-3 /proc/loadavg); rounds=$ROUNDS dur=$DUR" | tee -a "$OUT"
# busy: percent of all CPUs in use over one second (any process).
busy() {
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  local idle=$(( (b[4]+b[5]) - (a[4]+a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( 100 - 100 * idle / (total > 0 ? total : 1) ))
}
# wait_quiet: wait (up to QUIET_WAIT seconds) until the machine is under
# QUIET_PCT busy, as shared/anchors does; other sessions share this box.
QUIET_PCT=${QUIET_PCT:-30}
QUIET_WAIT=${QUIET_WAIT:-30}
wait_quiet() {
  local t=0 b
  while b=$(busy); [ "$b" -ge "$QUIET_PCT" ] && [ $t -lt "$QUIET_WAIT" ]; do t=$((t + 1)); done
  echo "$b"
}
# ticks PID: user+system CPU ticks the process has used.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
run() { # run NAME PATH CONNS CELL
  local threads=2 before t0 t1
  before=$(wait_quiet)
  t0=$(ticks "${pid[$1]}")
  line=$(TARGET="http://$ORIGIN$2" HOSTHDR="$ORIGIN" wrk -t$threads -c"$3" -d"$DUR" --latency -s bench/proxy/report.lua "http://127.0.0.1:${port[$1]}/" | grep '^RESULT')
  t1=$(ticks "${pid[$1]}")
  echo "round=$round cell=$4:c$3 server=$1 ${line#RESULT } cpu_s=$(awk -v t=$((t1 - t0)) -v hz="$HZ" 'BEGIN{printf "%.2f", t/hz}') busy_before=$before" | tee -a "$OUT"
}
for round in $(seq "$ROUNDS"); do
  for c in $CONNS; do
    for s in proxy squid; do run "$s" /1k "$c" hit; done
    for s in proxy squid goproxy; do run "$s" /nocache/1k "$c" miss; done
  done
done

python3 - "$OUT" "$DUR" <<'PY'
import re, statistics, sys
DUR = float(sys.argv[2].rstrip('s'))
runs = {}
for line in open(sys.argv[1]):
    if line.startswith('round='):
        kv = dict(re.findall(r'(\w+)=(\S+)', line))
        runs.setdefault((kv['cell'], kv['server']), []).append(kv)
cells = sorted({k[0] for k in runs}, key=lambda c: (c.split(':')[0], int(c.split(':c')[1])))
servers = ['proxy', 'squid', 'goproxy']
med = lambda c, s, k='req_s': statistics.median(float(r[k]) for r in runs[(c, s)]) if (c, s) in runs else None
print('\nmedian req/s (p99 ms) over rounds, and ratios; errors and non-2xx summed')
print('| cell | netstages proxy | squid | httputil (tuned) | proxy/squid | proxy/httputil |')
print('|---|---|---|---|---|---|')
for c in cells:
    m = {s: med(c, s) for s in servers}
    p = {s: med(c, s, 'p99_ms') for s in servers}
    errs = sum(int(r['errors']) + int(r['non2xx']) for s in servers for r in runs.get((c, s), []))
    cell = lambda s: f'{m[s]:.0f} ({p[s]:.1f})' if m[s] else '-'
    ratio = lambda a, b: f'{m[a]/m[b]:.2f}' if m[a] and m[b] else '-'
    print(f"| {c} | {cell('proxy')} | {cell('squid')} | {cell('goproxy')} | {ratio('proxy','squid')} | {ratio('proxy','goproxy')} |" + (f' errors={errs}' if errs else ''))
print('\nrequests per CPU-second of the proxy process itself (wrk and the origin excluded): less sensitive to other load')
print('| cell | netstages proxy | squid | httputil (tuned) | proxy/squid | proxy/httputil |')
print('|---|---|---|---|---|---|')
def eff(c, s):
    vals = [float(r['req_s']) / float(r['cpu_s']) * DUR for r in runs.get((c, s), []) if float(r.get('cpu_s', 0)) > 0]
    return statistics.median(vals) if vals else None
for c in cells:
    e = {s: eff(c, s) for s in servers}
    ratio = lambda a, b: f'{e[a]/e[b]:.2f}' if e[a] and e[b] else '-'
    print(f"| {c} | " + ' | '.join(f'{e[s]:.0f}' if e[s] else '-' for s in servers) + f" | {ratio('proxy','squid')} | {ratio('proxy','goproxy')} |")
print('\nper-round ratios proxy/squid:')
for c in cells:
    a, b = runs.get((c, 'proxy'), []), runs.get((c, 'squid'), [])
    print(f"  {c}: " + ', '.join(f"{float(x['req_s'])/float(y['req_s']):.2f}" for x, y in zip(a, b)))
PY
echo "raw results: $OUT"
