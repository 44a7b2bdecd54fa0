#!/usr/bin/env bash
# Runs bench/load.ts with Node 22 against the local Docker engine, on SQLite
# and on a throwaway PostgreSQL 15.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../scripts/services.sh"
cd "$ROOT"
trap stop_services EXIT
start_services
install_dependencies
node -r @backstage/cli/config/nodeTransform.cjs bench/load.ts
