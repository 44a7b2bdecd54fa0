#!/usr/bin/env bash
# Quick start, command 1: install what is needed and start the portal
# (frontend http://localhost:3000, backend http://localhost:7007) on SQLite
# and the local Docker engine.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

echo "Installing dependencies (Node $(node --version))..."
install_dependencies
mkdir -p .data/sqlite

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  if [ -x /bin/busybox ] && ! docker image inspect release-commands-demo/shop:1 >/dev/null 2>&1; then
    examples/demo-shop/build.sh || echo "Could not build the demo image; see examples/demo-shop/build.sh"
  fi
fi

exec node .yarn/releases/yarn-4.13.0.cjs start "$@"
