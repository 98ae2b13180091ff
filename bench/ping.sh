#!/bin/sh
# bench/ping.sh: the ping benchmark named in its issue; the script and its
# helper programs live in bench/ping/. Arguments and environment pass through.
exec "$(dirname "$0")/ping/ping.sh" "$@"
