#!/usr/bin/env bash
# Quick start, command 2: install what is needed and run every test: the type
# check, each package's suite (Jest, on SQLite and PostgreSQL, against a real
# Docker engine), the whole-stack suites under test/ and the end-to-end suite
# in a real browser. Ends with one line
# "N passed, N failed".
set -uo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/services.sh"
cd "$ROOT"

trap stop_services EXIT
start_services || { echo "0 passed, 1 failed"; exit 1; }
install_dependencies || { echo "0 passed, 1 failed"; exit 1; }

results="$ROOT/.cache/test-results"
rm -rf "$results" && mkdir -p "$results"

echo "== Type check"
if yarn tsc > "$results/tsc.log" 2>&1; then
  echo '{"name":"type check","passed":1,"failed":0}' > "$results/tsc.check.json"
else
  cat "$results/tsc.log"
  echo '{"name":"type check","passed":0,"failed":1}' > "$results/tsc.check.json"
fi

echo "== Package suites"
CI=true yarn backstage-cli repo test --json --outputFile="$results/packages.jest.json"

echo "== Whole-stack suites (serial: they restart the engine and kill the backend)"
(cd test/runs && CI=true yarn backstage-cli package test --runInBand \
  --json --outputFile="$results/runs.jest.json")

echo "== End to end (the portal as scripts/start.sh starts it, in headless Chromium)"
(cd test/e2e && CI=true yarn backstage-cli package test --runInBand \
  --json --outputFile="$results/e2e.jest.json")

node scripts/summarize-tests.js "$results" packages,runs,e2e
