#!/bin/sh
# Installs the Debian packages named as arguments when a command they
# provide is missing. Used by `make deps`; safe to run again.
set -eu
missing=""
for pkg in "$@"; do
  case "$pkg" in
    netcat-openbsd) cmd=nc ;;
    chromium) cmd=chromium ;;
    *) cmd="$pkg" ;;
  esac
  command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
