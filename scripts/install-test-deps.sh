#!/usr/bin/env bash
# System programs the test suite drives: wrk (benchmark smoke run), nginx (uwsgi_pass test) and
# tmux (`spindle top` in a pseudo-terminal). Installs only what is missing (Debian/Ubuntu, as root).
set -euo pipefail
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
