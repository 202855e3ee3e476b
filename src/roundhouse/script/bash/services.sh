# Roundhouse service helpers, inlined into scripts whose config lists `services:`.
# Starts a service through the machine's service manager, or its daemon directly in containers
# and sandboxes, where the job's user cannot become root.

_rh_services_started=

# _rh_as_root CMD...: root runs it directly; others through password-less sudo.
_rh_as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  else
    sudo -n "$@"
  fi
}

# _rh_can_be_root: whether service managers are of use here. In a sandbox or container the
# job is an unprivileged user without sudo, so daemons are started directly, as that user.
_rh_can_be_root() {
  if [[ -z ${_rh_root_checked:-} ]]; then
    _rh_root_checked=no
    if [[ $EUID -eq 0 ]] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
      _rh_root_checked=yes
    fi
  fi
  [[ $_rh_root_checked == yes ]]
}

# _rh_service NAME UNIT [DAEMON-COMMAND]
_rh_service() {
  local name=$1 unit=$2 direct=${3:-} rc=1
  if _rh_can_be_root && command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    printf '$ sudo systemctl start %s\n' "$unit"
    _rh_as_root systemctl start "$unit"
    rc=$?
  elif _rh_can_be_root && command -v service >/dev/null 2>&1 && [[ -x /etc/init.d/$unit ]]; then
    printf '$ sudo service %s start\n' "$unit"
    _rh_as_root service "$unit" start
    rc=$?
  elif [[ -n $direct ]] && command -v "${direct%% *}" >/dev/null 2>&1; then
    [[ $direct == _rh_* ]] || printf '$ %s\n' "$direct"  # helpers say what they run
    eval "$direct"
    rc=$?
  else
    printf '%sThe service %s is not available on this machine.%s\n' "$ANSI_RED" "$name" "$ANSI_RESET"
    printf 'Use a worker image that has it, or start it yourself in before_install.\n'
    return 0
  fi
  if [[ $rc -eq 0 ]]; then
    _rh_services_started=1
  else
    printf '%sThe service %s could not be started (exit %s).%s\n' "$ANSI_RED" "$name" "$rc" "$ANSI_RESET"
  fi
  return 0
}

# _rh_postgresql: PostgreSQL for a job that cannot become root. A throwaway cluster of the
# job's user in /tmp, whose superuser `postgres` needs no password (as on Travis), listening
# on localhost, with its socket where psql looks first (or PGHOST says where it is).
_rh_postgresql() {
  local bin sockets=/var/run/postgresql data=/tmp/roundhouse-postgresql
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ ! -x $bin/initdb ]]; then
    printf 'PostgreSQL is not installed in this image.\n'
    return 127
  fi
  if ! mkdir -p "$sockets" 2>/dev/null || [[ ! -w $sockets ]]; then
    sockets=/tmp
    export PGHOST=/tmp
  fi
  printf '$ pg_ctl start  # PostgreSQL %s, a cluster of the job'"'"'s user\n' "$(basename "$(dirname "$bin")")"
  "$bin/initdb" --pgdata="$data" --username=postgres --auth=trust --no-sync >/dev/null &&
    "$bin/pg_ctl" --pgdata="$data" --log="$data.log" --wait --silent \
      --options="-c listen_addresses=localhost -c unix_socket_directories=$sockets" start
}

# Services need a moment before they accept connections (Travis waits 3 seconds too).
_rh_services_settle() {
  if [[ -n $_rh_services_started ]]; then
    sleep 3
  fi
  return 0
}
