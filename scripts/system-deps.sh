#!/usr/bin/env bash
# Installs Debian's chromium, docker.io and docker-compose when missing and starts dockerd when it is
# not running. (debootstrap, for the container tests' local base image, is installed on demand.)
# Needs root (or sudo); without it, the browser and sandbox tests skip with a reason.
set -uo pipefail
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "system-deps: not root and no sudo; browser/docker tests will skip" >&2; exit 0; fi
fi
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if command -v dockerd >/dev/null && ! docker info >/dev/null 2>&1; then
  $sudo sh -c 'nohup dockerd >/tmp/graphwright-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || echo "system-deps: dockerd did not start (see /tmp/graphwright-dockerd.log)" >&2
fi
exit 0
