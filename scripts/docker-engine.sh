# Sourced by start.sh and services.sh: the Docker engine that the portal and
# the tests use (DOCKER_HOST, else this machine's socket, as the backend
# decides), and the one way these scripts start an engine where none answers:
# as root (or with passwordless sudo) on Debian, Debian's docker.io started as
# `dockerd --bridge=none --iptables=false` (no traffic may go to private
# address ranges from these machines; containers use network mode none or
# host).
#
#   ensure_docker_engine   0 when an engine answers, after starting one if it
#                          can (STARTED_DOCKERD is then its process id); else 1,
#                          with DOCKER_ENGINE_PROBLEM saying what to install or fix.
LOCAL_DOCKER_HOST=unix:///var/run/docker.sock
DOCKERD_PID_FILE=/run/release-commands-dockerd.pid
DOCKERD_LOG=/var/log/release-commands-dockerd.log
STARTED_DOCKERD=${STARTED_DOCKERD:-}
DOCKER_ENGINE_PROBLEM=

# Whether an executable named $1 is on PATH (bash's `command -v` and
# `type -P` also report files that cannot be executed).
has_command() {
  local dir IFS=:
  for dir in $PATH; do
    [ -f "$dir/$1" ] && [ -x "$dir/$1" ] && return 0
  done
  return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

can_be_root() {
  [ "$(id -u)" = 0 ] || { has_command sudo && sudo -n true 2>/dev/null; }
}

# Why these scripts cannot install Debian packages here; nothing when they can.
package_install_blocker() {
  if ! can_be_root; then
    echo "needs root or passwordless sudo"
  elif ! has_command apt-get || ! has_command dpkg; then
    echo "needs Debian's apt-get, which this machine lacks"
  fi
}

can_install_packages() { [ -z "$(package_install_blocker)" ]; }

# Installs the Debian packages among "$@" that are missing.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing ${missing[*]} from Debian"
  as_root apt-get update -qq >/dev/null &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

docker_host() { echo "${DOCKER_HOST:-$LOCAL_DOCKER_HOST}"; }

# Prints nothing when the engine answers, else the docker client's reason.
docker_engine_error() {
  if ! has_command docker; then
    echo "the docker command is not installed"
    return
  fi
  # A remote engine that drops packets would keep `docker info` waiting.
  local out limit=()
  has_command timeout && limit=(timeout 20)
  if out=$(DOCKER_HOST=$(docker_host) "${limit[@]}" docker info --format '{{.ServerVersion}}' 2>&1); then
    return
  fi
  out=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 1)
  echo "${out:-docker info failed}"
}

docker_answers() { [ -z "$(docker_engine_error)" ]; }

# The process id of a dockerd running on this machine, if any.
running_dockerd() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    if [ "$(cat "$comm" 2>/dev/null)" = dockerd ]; then
      comm=${comm#/proc/}
      echo "${comm%/comm}"
      return 0
    fi
  done
  return 1
}

# Waits up to $1 seconds for the engine to answer; gives up at once when it
# refuses this user, and when the process $2 (if given) has exited.
wait_for_docker_engine() {
  local seconds=$1 pid=${2:-} error
  for _ in $(seq 1 "$seconds"); do
    error=$(docker_engine_error)
    [ -z "$error" ] && return 0
    case "$error" in *"permission denied"*) return 1 ;; esac
    if [ -n "$pid" ] && ! as_root kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 1
  done
  return 1
}

ensure_docker_engine() {
  DOCKER_ENGINE_PROBLEM=
  local host error pid reason
  host=$(docker_host)
  error=$(docker_engine_error)
  [ -z "$error" ] && return 0

  if [ "$host" != "$LOCAL_DOCKER_HOST" ]; then
    DOCKER_ENGINE_PROBLEM="No Docker engine answers at DOCKER_HOST=$host ($error). Start the engine there, or unset DOCKER_HOST to use this machine's ($LOCAL_DOCKER_HOST)."
    return 1
  fi

  # Never a second engine beside one that runs: it may still be starting.
  if pid=$(running_dockerd); then
    wait_for_docker_engine 60 && return 0
    error=$(docker_engine_error)
    case "$error" in
      *"permission denied"*)
        DOCKER_ENGINE_PROBLEM="The Docker engine at $host refuses this user ($error). Add yourself to the docker group (sudo usermod -aG docker $(id -un), then log in again) or run as root." ;;
      *)
        DOCKER_ENGINE_PROBLEM="A Docker engine runs here (dockerd, process $pid) but does not answer at $host ($error). See its log ($DOCKERD_LOG when these scripts started it) or restart it." ;;
    esac
    return 1
  fi

  reason=$(package_install_blocker)
  if [ -n "$reason" ]; then
    DOCKER_ENGINE_PROBLEM="No Docker engine answers at $host ($error), and installing one $reason. Run this command as root on Debian and it installs and starts one; or install and start one yourself, then run it again (Debian: apt-get install docker.io busybox-static, then dockerd --bridge=none --iptables=false &; elsewhere: https://docs.docker.com/engine/install/)."
    return 1
  fi

  # An engine of another package (docker-ce) is started as it is, not replaced.
  if ! has_command dockerd && ! apt_install docker.io; then
    DOCKER_ENGINE_PROBLEM="No Docker engine answers at $host, and installing Debian's docker.io failed (see apt-get's output above). Install and start Docker, then run this command again."
    return 1
  fi
  echo "Starting a Docker engine: dockerd --bridge=none --iptables=false (log $DOCKERD_LOG)"
  # A session of its own, so that stopping the caller (Ctrl-C) leaves it running.
  as_root sh -c 'setsid dockerd --bridge=none --iptables=false </dev/null >>"$1" 2>&1 & echo $! >"$2"' \
    sh "$DOCKERD_LOG" "$DOCKERD_PID_FILE"
  STARTED_DOCKERD=$(as_root cat "$DOCKERD_PID_FILE")
  wait_for_docker_engine 60 "$STARTED_DOCKERD" && return 0
  DOCKER_ENGINE_PROBLEM="The Docker engine did not come up at $host ($(docker_engine_error)); see $DOCKERD_LOG."
  return 1
}
