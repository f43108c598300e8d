#!/usr/bin/env bash
# System programs the test suite drives: wrk (benchmark smoke run), nginx (uwsgi_pass test) and
# tmux (`spindle top` in a pseudo-terminal). Runs before every `npm test` (the pretest script), so
# on a fresh Debian/Ubuntu machine `npm install` then `npm test` is all it takes. Does nothing when
# all three are present; otherwise says what it installs and runs apt-get (through sudo unless root).
set -euo pipefail
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ ${#need[@]} -eq 0 ] && exit 0

echo "install-test-deps: the tests need ${need[*]}, which are missing" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: no apt-get here: install ${need[*]} with your package manager; the tests that drive them will fail until then" >&2
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-test-deps: not root and no sudo: run as root: apt-get install ${need[*]}" >&2
    exit 1
  fi
  as_root=(sudo)
fi
echo "install-test-deps: ${as_root[*]:+${as_root[*]} }apt-get update" >&2
"${as_root[@]}" apt-get update -qq
# the smallest nginx where the release still has it (Debian 12, Ubuntu 22.04); plain nginx elsewhere
pkgs=()
for p in "${need[@]}"; do
  if [ "$p" = nginx ] && apt-cache show nginx-light >/dev/null 2>&1; then p=nginx-light; fi
  pkgs+=("$p")
done
echo "install-test-deps: ${as_root[*]:+${as_root[*]} }apt-get install -y ${pkgs[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
