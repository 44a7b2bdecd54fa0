#!/usr/bin/env bash
# Quick start, command 2: install what is needed and run every test: the type
# check, each package's suite (Jest, on SQLite and PostgreSQL, against a real
# Docker engine), the whole-stack suites under test/ and the end-to-end suite
# in a real browser, and the Docker executor's suite again against Podman's
# Docker-compatible service. Ends with one line
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

# One check that counts as one test: `check ID "NAME" COMMAND...` keeps its
# output in $results/ID.log and prints it when the check fails.
check() {
  local id=$1 name=$2
  shift 2
  echo "== $name"
  if "$@" > "$results/$id.log" 2>&1; then
    echo "{\"name\":\"$name\",\"passed\":1,\"failed\":0}" > "$results/$id.check.json"
  else
    tail -n 80 "$results/$id.log"
    echo "{\"name\":\"$name\",\"passed\":0,\"failed\":1}" > "$results/$id.check.json"
  fi
}

# A full build: incremental declarations can order inferred unions
# differently, which the API report check would take for a change.
check tsc "type check" yarn tsc --incremental false
check api-reports "API reports (public exports and CLI flags)" yarn test:api-reports
check changesets "changesets (yarn changeset status)" yarn changeset status
check lint "lint (backstage-cli repo lint, no warnings)" yarn backstage-cli repo lint --max-warnings 0
check prettier "formatting (prettier --check)" yarn prettier --check .
check package-metadata "package metadata (backstage-cli repo fix --publish --check)" \
  yarn backstage-cli repo fix --publish --check

echo "== Package suites"
CI=true yarn backstage-cli repo test --json --outputFile="$results/packages.jest.json"

echo "== The Docker executor against Podman's Docker-compatible service"
if start_podman; then
  (cd plugins/release-commands-backend &&
    DOCKER_HOST=$RELEASE_COMMANDS_TEST_PODMAN_HOST RELEASE_COMMANDS_TEST_ENGINE=podman \
      CI=true yarn backstage-cli package test src/executor --runInBand \
      --json --outputFile="$results/podman.jest.json")
  stop_podman
fi

echo "== Whole-stack suites (serial: they restart the engine and kill the backend)"
(cd test/runs && CI=true yarn backstage-cli package test --runInBand \
  --json --outputFile="$results/runs.jest.json")

echo "== End to end (the portal as scripts/start.sh starts it, in headless Chromium)"
(cd test/e2e && CI=true yarn backstage-cli package test --runInBand \
  --json --outputFile="$results/e2e.jest.json")

echo "== Adopter (the packed packages in a stock create-app 0.9.2 app, installed as the README says)"
(cd test/adopter && CI=true yarn backstage-cli package test --runInBand \
  --json --outputFile="$results/adopter.jest.json")

node scripts/summarize-tests.js "$results" packages,podman,runs,e2e,adopter
