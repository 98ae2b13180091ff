#!/bin/sh
# bench/smtp.sh: the smtp benchmark named in its issue; the script and its
# helper programs live in bench/smtp/. Arguments and environment pass through.
exec "$(dirname "$0")/smtp/run.sh" "$@"
