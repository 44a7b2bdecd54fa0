#!/usr/bin/env bash
# Builds the demo image release-commands-demo/shop:1 from a static busybox
# (Debian: apt-get install busybox-static). No registry is needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX_PATH:-/bin/busybox}
tag=${1:-release-commands-demo/shop:1}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$busybox" "$ctx/busybox"
cp -r "$here/Dockerfile" "$here/app" "$ctx/"
docker build -q -t "$tag" "$ctx"
echo "built $tag"
