#!/usr/bin/env bash
# Quick start, command 1: install what is needed and start the portal
# (frontend http://localhost:3000, backend http://localhost:7007) on SQLite
# and the Docker engine. When no engine answers and this script can (root or
# passwordless sudo, on Debian), it installs and starts one, which keeps
# running after the portal stops; it builds the demo service's image. When it
# cannot, it says what to install and starts the portal anyway. Arguments go
# to `yarn start` (e.g. --config FILE).
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/docker-engine.sh"
cd "$ROOT"

# The demo service's image (examples/demo-shop), built from a static busybox.
# Built at every start, so it follows examples/demo-shop; unchanged, it is
# the build cache's and takes a second.
build_demo_image() {
  local busybox=${BUSYBOX_PATH:-/bin/busybox} out
  if [ ! -x "$busybox" ] && can_install_packages; then
    apt_install busybox-static || true
  fi
  if [ ! -x "$busybox" ]; then
    echo "The demo image (release-commands-demo/shop:1) needs a static busybox at $busybox: install Debian's busybox-static (as root: apt-get install busybox-static) and run bash scripts/start.sh again." >&2
    return 0
  fi
  if out=$(examples/demo-shop/build.sh 2>&1); then
    echo "Demo image: $(printf '%s\n' "$out" | tail -n 1)"
  else
    printf '%s\n' "$out" | tail -n 20 >&2
    echo "Could not build the demo image (examples/demo-shop/build.sh, output above); runs of the demo service will fail until it is built." >&2
  fi
}

echo "Installing dependencies (Node $(node --version))..."
install_dependencies
mkdir -p .data/sqlite

if ensure_docker_engine; then
  if [ -n "$STARTED_DOCKERD" ]; then
    echo "The Docker engine (process $STARTED_DOCKERD) keeps running when the portal stops: it is your engine now (log $DOCKERD_LOG)."
  fi
  build_demo_image
else
  echo "$DOCKER_ENGINE_PROBLEM The portal starts anyway: you can edit release commands, and runs fail until an engine answers." >&2
fi

exec node .yarn/releases/yarn-4.13.0.cjs start "$@"
