#!/usr/bin/env bash
# bench/httpd/run.sh: the same wrk loads against netstages httpd (stages in
# their own goroutines, and fused), Go's net/http.FileServer and nginx, in
# one run, interleaved round by round; then RSS with 1000 idle keep-alive
# connections. Prints medians and ratios. Not part of `make test`.
#
#   bench/httpd/run.sh                  # defaults: ROUNDS=3 DUR=5s
#   ROUNDS=5 DUR=8s CELLS="1k:64 10m:4" bench/httpd/run.sh
#   PHASES=rss OUT=results.txt bench/httpd/run.sh   # only the memory probe, appended
#
# Installs wrk and nginx (Debian: wrk, nginx-light) when missing. Starts and
# stops every server by PID. Raw wrk lines go to $OUT (default: a temp file).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DUR=${DUR:-5s}
CELLS=${CELLS:-"1k:1 1k:16 1k:64 64k:16 10m:4"}
SERVERS=${SERVERS:-"httpd httpd-fused gofileserver nginx"}
IDLE_CONNS=${IDLE_CONNS:-1000}
PHASES=${PHASES:-"wrk rss"}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx; then
  echo "installing wrk and nginx-light"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq wrk nginx-light || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk nginx-light; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/bench-httpd.XXXXXX)
chmod 755 "$work"
OUT=${OUT:-$work/results.txt}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$work/root" "$work/bin" "$work/logs"
head -c 1024 /dev/urandom >"$work/root/1k"
head -c 65536 /dev/urandom >"$work/root/64k"
head -c 10485760 /dev/urandom >"$work/root/10m"
chmod -R a+rX "$work/root"

go build -o "$work/bin/httpd" ./cmd/httpd
go build -o "$work/bin/gofileserver" ./bench/httpd/gofileserver
go build -o "$work/bin/keepalive" ./bench/httpd/keepalive

declare -A port=([httpd]=18181 [httpd-fused]=18182 [gofileserver]=18183 [nginx]=18184)
declare -A pid

cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/logs/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/logs;
  proxy_temp_path $work/logs;
  fastcgi_temp_path $work/logs;
  uwsgi_temp_path $work/logs;
  scgi_temp_path $work/logs;
  server { listen 127.0.0.1:${port[nginx]}; root $work/root; }
}
CONF

start() {
  case $1 in
    httpd) "$work/bin/httpd" -addr 127.0.0.1:${port[httpd]} -root "$work/root" -access-log off -fused=false >"$work/logs/httpd.out" 2>&1 & pid[$1]=$! ;;
    httpd-fused) "$work/bin/httpd" -addr 127.0.0.1:${port[httpd-fused]} -root "$work/root" -access-log off -fused >"$work/logs/fused.out" 2>&1 & pid[$1]=$! ;;
    gofileserver) "$work/bin/gofileserver" -addr 127.0.0.1:${port[gofileserver]} -root "$work/root" >"$work/logs/gofs.out" 2>&1 & pid[$1]=$! ;;
    nginx) "$NGINX" -c "$work/nginx.conf" -p "$work" -g 'daemon off;' >"$work/logs/nginx.out" 2>&1 & pid[$1]=$! ;;
  esac
  pids+=("${pid[$1]}")
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:${port[$1]}/1k" && return 0
    sleep 0.1
  done
  echo "$1 did not start" >&2; exit 1
}

# rss NAME: VmRSS in KiB summed over the server process and its children.
rss() {
  local total=0 p
  for p in ${pid[$1]} $(pgrep -P "${pid[$1]}" || true); do
    total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status")))
  done
  echo "$total"
}

for s in $SERVERS; do start "$s"; done
echo "# $(date -u +%FT%TZ) $(nproc) cpus; load: $(cut -d' ' -f1-3 /proc/loadavg); rounds=$ROUNDS dur=$DUR phases=$PHASES" | tee -a "$OUT"

[[ " $PHASES " == *" wrk "* ]] && for round in $(seq "$ROUNDS"); do
  for cell in $CELLS; do
    file=${cell%%:*}; conns=${cell##*:}
    threads=2; [ "$conns" -lt 2 ] && threads=1
    for s in $SERVERS; do
      line=$(wrk -t$threads -c"$conns" -d"$DUR" --latency -s bench/httpd/report.lua "http://127.0.0.1:${port[$s]}/$file" | grep '^RESULT')
      echo "round=$round cell=/$file:c$conns server=$s ${line#RESULT }" | tee -a "$OUT"
    done
  done
done

# Memory: each server restarted fresh, so earlier load does not hide what
# idle connections cost (as in shared/anchors).
stop() {
  kill "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" 2>/dev/null || true
}
[[ " $PHASES " == *" rss "* ]] && for s in $SERVERS; do
  stop "$s"
  start "$s"
  sleep 1
  idle=$(rss "$s")
  "$work/bin/keepalive" -addr "127.0.0.1:${port[$s]}" -n "$IDLE_CONNS" -hold 6s >/dev/null &
  ka=$!
  sleep 4
  held=$(rss "$s")
  wait "$ka"
  echo "rss server=$s idle_kib=$idle conns=$IDLE_CONNS held_kib=$held per_conn_b=$(( (held - idle) * 1024 / IDLE_CONNS ))" | tee -a "$OUT"
done

python3 - "$OUT" <<'PY'
import re, statistics, sys
runs, rss = {}, {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    if line.startswith('round='):
        runs.setdefault((kv['cell'], kv['server']), []).append(kv)
    elif line.startswith('rss '):
        rss[kv['server']] = kv
servers = [s for s in ['httpd', 'httpd-fused', 'gofileserver', 'nginx'] if any(k[1] == s for k in runs)]
cells = sorted({k[0] for k in runs}, key=lambda c: (c.split(':')[0] != '/1k', int(c.split(':c')[1])))
def med(cell, s):
    rs = runs.get((cell, s), [])
    key = 'req_s' if cell.startswith('/1k') else 'mib_s'
    return statistics.median(float(r[key]) for r in rs) if rs else None
print('\nmedians (req/s for /1k, MiB/s otherwise) and ratios')
print('| cell | ' + ' | '.join(servers) + ' | httpd/gofs | httpd/nginx | fused/gofs | fused/nginx |')
print('|---' * (len(servers) + 5) + '|')
for c in cells:
    m = {s: med(c, s) for s in servers}
    r = lambda a, b: f'{m[a]/m[b]:.2f}' if m.get(a) and m.get(b) else '-'
    print(f'| {c} | ' + ' | '.join(f'{m[s]:.0f}' if m[s] else '-' for s in servers) +
          f" | {r('httpd','gofileserver')} | {r('httpd','nginx')} | {r('httpd-fused','gofileserver')} | {r('httpd-fused','nginx')} |")
print('\n| server | idle RSS KiB | RSS with conns KiB | per conn B | vs gofileserver |')
print('|---|---|---|---|---|')
g = int(rss['gofileserver']['held_kib']) if 'gofileserver' in rss else None
for s in servers:
    if s in rss:
        v = rss[s]
        print(f"| {s} | {v['idle_kib']} | {v['held_kib']} | {v['per_conn_b']} | " + (f"{int(v['held_kib'])/g:.2f}" if g else '-') + ' |')
PY
echo "raw results: $OUT"
