#!/usr/bin/env bash
# Installs Debian's chromium, docker.io, docker-compose and postgresql (the cluster tests' server) when missing (with a `docker compose` plugin
# shim over Compose v1 when no v2 plugin exists) and starts dockerd when it is not running. (debootstrap, for the container tests' local base image, is installed on demand.)
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
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian bookworm ships Compose v1 only (`docker-compose`), while the README says `docker compose`:
# a three-line CLI plugin hands `docker compose ...` to it. Not needed (and not installed) where the
# real Compose v2 plugin is present.
plugins=/usr/local/lib/docker/cli-plugins
if command -v docker-compose >/dev/null && ! docker compose version >/dev/null 2>&1; then
  $sudo mkdir -p "$plugins"
  $sudo tee "$plugins/docker-compose" >/dev/null <<'SHIM'
#!/bin/sh
# `docker compose ...` -> Debian's docker-compose (Compose v1), installed by graphwright's scripts/system-deps.sh.
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"graphwright","Version":"v1-shim","ShortDescription":"Docker Compose (Debian docker-compose v1)"}'
  exit 0
fi
[ "$1" = compose ] && shift
exec docker-compose "$@"
SHIM
  $sudo chmod 755 "$plugins/docker-compose"
fi
if command -v dockerd >/dev/null && ! docker info >/dev/null 2>&1; then
  $sudo sh -c 'nohup dockerd >/tmp/graphwright-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || echo "system-deps: dockerd did not start (see /tmp/graphwright-dockerd.log)" >&2
fi
exit 0
