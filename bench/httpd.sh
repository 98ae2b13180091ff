#!/bin/sh
# bench/httpd.sh: the httpd benchmark named in its issue; the script and its
# helper programs live in bench/httpd/. Arguments and environment pass through.
exec "$(dirname "$0")/httpd/run.sh" "$@"
