#!/bin/sh
# bench/proxy.sh: the proxy benchmark named in its issue; the script and its
# helper programs live in bench/proxy/. Arguments and environment pass through.
exec "$(dirname "$0")/proxy/run.sh" "$@"
