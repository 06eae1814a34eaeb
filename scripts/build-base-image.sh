#!/usr/bin/env bash
# Builds a local stand-in for `python:3.11-slim` when no image registry is reachable: Debian bookworm
# (minbase) with its Python 3.11, venv support and CA certificates, made by debootstrap from the
# Debian mirror and `docker import`ed. The app's Dockerfile takes it as its BASE_IMAGE build argument:
#
#   scripts/build-base-image.sh && docker build --build-arg BASE_IMAGE=graphwright-base:bookworm-py311 .
#
# Usage: scripts/build-base-image.sh [TAG]   (default: graphwright-base:bookworm-py311)
# An existing TAG is reused; set FORCE=1 to rebuild. Needs root; installs debootstrap when missing.
# MIRROR overrides the Debian mirror (default http://deb.debian.org/debian).
set -euo pipefail

tag="${1:-graphwright-base:bookworm-py311}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "build-base-image: $tag already present"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || { echo "build-base-image: needs debootstrap (or apt-get to install it)" >&2; exit 1; }
  apt-cache show debootstrap >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,passwd \
  bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2
  exit 1
}

# What the official slim images drop too: package caches, apt lists, docs, man pages, locales.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
  "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale \
  "$root"/usr/share/lintian
mkdir -p "$root/usr/share/doc" "$root/usr/share/man"
printf 'deb %s bookworm main\n' "$mirror" >"$root/etc/apt/sources.list"

tar -C "$root" --numeric-owner -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["python3"]' \
  - "$tag" >/dev/null
docker run --rm --network none "$tag" python3 -c 'import ensurepip, ssl, sys; print(sys.version.split()[0])' |
  sed "s/^/build-base-image: $tag has Python /"
