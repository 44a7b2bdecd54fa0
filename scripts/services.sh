# Sourced: starts what the tests need and is not already there, and defines
# `stop_services` to stop only what it started. Idempotent: an engine that
# already answers and a given PostgreSQL connection string are reused.
#   - a Docker engine (Debian's docker.io, started with --bridge=none; see
#     docker-engine.sh, which scripts/start.sh shares)
#   - a static busybox for building test images (busybox-static)
#   - a throwaway PostgreSQL 15 cluster on 127.0.0.1 and a free port
#   - Chromium for the browser tests
# and, for the test command's Podman stage, `start_podman`:
#   - Debian's podman 4.3 with its Docker-compatible service on a socket of
#     its own, exported as RELEASE_COMMANDS_TEST_PODMAN_HOST
source "$(dirname "${BASH_SOURCE[0]}")/docker-engine.sh"
STARTED_PG_DIR=
STARTED_PODMAN_PID=
STARTED_PODMAN_DIR=

start_docker() {
  ensure_docker_engine && return 0
  echo "$DOCKER_ENGINE_PROBLEM" >&2
  return 1
}

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

start_postgres() {
  if [ -n "${BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING:-}" ]; then return 0; fi
  apt_install postgresql-15
  local bin=/usr/lib/postgresql/15/bin port dir
  port=$(free_port)
  dir=$(mktemp -d /tmp/release-commands-pg.XXXXXX)
  chmod 755 "$dir"
  local run=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system postgres
    chown postgres "$dir"
    run=(su postgres -s /bin/sh -c)
  else
    run=(sh -c)
  fi
  "${run[@]}" "$bin/initdb -D $dir/data -U postgres --auth=trust >/dev/null"
  "${run[@]}" "$bin/pg_ctl -D $dir/data -l $dir/log -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off' -w start >/dev/null"
  STARTED_PG_DIR=$dir
  export BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING="postgresql://postgres@127.0.0.1:$port"
  echo "PostgreSQL 15 on 127.0.0.1:$port"
}

start_services() {
  apt_install busybox-static chromium
  start_docker
  start_postgres
}

start_podman() {
  if [ -n "${RELEASE_COMMANDS_TEST_PODMAN_HOST:-}" ]; then return 0; fi
  # catatonit: Podman's init, for containers started with Init.
  apt_install podman catatonit || {
    echo "Installing Debian's podman failed (see apt-get's output above)" >&2
    return 1
  }
  local dir
  dir=$(mktemp -d /tmp/release-commands-podman.XXXXXX)
  # Podman's default nofile limit is above this machine's hard limit (20000),
  # and every container would fail with "error setting rlimit type 7".
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' \
    > "$dir/containers.conf"
  # Started directly (through sudo when not root), so that $! is the service;
  # in its own folder, where conmon leaves an `oom` file after a kill at the
  # memory limit.
  local run=()
  [ "$(id -u)" = 0 ] || run=(sudo -n)
  "${run[@]}" env -C "$dir" CONTAINERS_CONF="$dir/containers.conf" \
    podman system service --time=0 "unix://$dir/podman.sock" \
    > "$dir/service.log" 2>&1 &
  STARTED_PODMAN_PID=$!
  STARTED_PODMAN_DIR=$dir
  local host="unix://$dir/podman.sock"
  for _ in $(seq 1 60); do
    if DOCKER_HOST=$host docker version --format '{{range .Server.Components}}{{.Name}};{{end}}' 2>/dev/null |
      grep -q 'Podman Engine'; then
      export RELEASE_COMMANDS_TEST_PODMAN_HOST=$host
      echo "Podman's Docker-compatible service on $host"
      return 0
    fi
    as_root kill -0 "$STARTED_PODMAN_PID" 2>/dev/null || break
    sleep 0.5
  done
  echo "Podman's service did not answer on $host:" >&2
  cat "$dir/service.log" >&2
  return 1
}

stop_podman() {
  if [ -n "$STARTED_PODMAN_PID" ]; then
    as_root kill "$STARTED_PODMAN_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do as_root kill -0 "$STARTED_PODMAN_PID" 2>/dev/null || break; sleep 0.5; done
    as_root rm -rf "$STARTED_PODMAN_DIR"
    STARTED_PODMAN_PID=
    STARTED_PODMAN_DIR=
    unset RELEASE_COMMANDS_TEST_PODMAN_HOST
  fi
}

stop_services() {
  stop_podman
  if [ -n "$STARTED_PG_DIR" ]; then
    if [ "$(id -u)" = 0 ]; then
      su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D $STARTED_PG_DIR/data -m immediate stop" >/dev/null 2>&1 || true
    else
      /usr/lib/postgresql/15/bin/pg_ctl -D "$STARTED_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$STARTED_PG_DIR"
    STARTED_PG_DIR=
  fi
  if [ -n "$STARTED_DOCKERD" ]; then
    # The fault tests restart the engine and record its new process here.
    STARTED_DOCKERD=$(as_root cat "$DOCKERD_PID_FILE" 2>/dev/null || echo "$STARTED_DOCKERD")
    as_root kill "$STARTED_DOCKERD" 2>/dev/null || true
    for _ in $(seq 1 20); do as_root kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 0.5; done
    STARTED_DOCKERD=
  fi
}
