#!/usr/bin/env bash
# Builds a small local Python image for the `python` tool's sandbox without any image registry:
# Debian's python3-minimal and the standard library (with their dependencies) are downloaded with
# apt, unpacked with `dpkg -x` into a root filesystem (no maintainer scripts run) and `docker import`ed.
# The image has no shell, no package manager and no users: the sandbox runs `python3 -c` as a
# numeric unprivileged user. About 48 MB; the build takes seconds (a minute on a cold apt cache).
#
# Usage: scripts/build-sandbox-image.sh [TAG]   (default: graphwright-sandbox:py3)
# An existing TAG is reused; set FORCE=1 to rebuild it. Needs root (for apt and docker).
set -euo pipefail

tag="${1:-graphwright-sandbox:py3}"
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "build-sandbox-image: $tag already present"
  exit 0
fi
command -v apt-get >/dev/null || { echo "build-sandbox-image: needs a Debian-like host (apt-get)" >&2; exit 1; }

roots=(python3-minimal libpython3-stdlib)
# Pulled in by the recursion but not needed to run Python (package tools, perl, mime tables).
skip='^(dpkg|tar|install-info|perl|perl-base|perl-modules-.*|libperl.*|mailcap|mime-support|media-types|libgdbm-compat4|readline-common|debconf.*|python3)$'

if ! apt-cache show python3-minimal >/dev/null 2>&1; then
  apt-get update -qq
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/rootfs"

mapfile -t pkgs < <(
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${roots[@]}" 2>/dev/null |
    grep -E '^[a-z0-9]' | sort -u | grep -Ev "$skip"
)
echo "build-sandbox-image: ${#pkgs[@]} packages: ${pkgs[*]}"
(cd "$work/debs" && apt-get download -qq -o APT::Sandbox::User=root "${pkgs[@]}")

for deb in "$work"/debs/*.deb; do
  dpkg -x "$deb" "$work/rootfs"
done

root="$work/rootfs"
# What maintainer scripts and base-files would have set up, reduced to what Python needs.
ln -sf python3.11 "$root/usr/bin/python3"
mkdir -p "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale" "$root/usr/share/lintian"

tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  -c 'ENV PYTHONDONTWRITEBYTECODE=1' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["python3"]' \
  - "$tag" >/dev/null
docker run --rm --network none "$tag" python3 -c 'import json, socket, sys; print(sys.version.split()[0])' |
  sed "s/^/build-sandbox-image: $tag runs Python /"
