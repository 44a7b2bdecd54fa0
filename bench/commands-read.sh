#!/usr/bin/env bash
# Runs bench/commands-read.ts with Node 22 and a throwaway PostgreSQL 15.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../scripts/services.sh"
cd "$ROOT"
trap stop_services EXIT
start_postgres
node -r @backstage/cli/config/nodeTransform.cjs bench/commands-read.ts
