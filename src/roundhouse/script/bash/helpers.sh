# Roundhouse job script helpers, inlined at the top of every compiled job script.
# Travis-compatible log markers, timing, result bookkeeping and the user-facing travis_* commands.
#
# Internal names start with _rh_. Helpers never return non-zero by accident, so a user command
# that switches on `set -e` does not stop the job inside our own bookkeeping.

ANSI_RED=$'\033[31;1m'
ANSI_GREEN=$'\033[32;1m'
ANSI_YELLOW=$'\033[33;1m'
ANSI_RESET=$'\033[0m'
ANSI_CLEAR=$'\033[0K'

# Seconds between travis_retry attempts and per travis_wait "minute"; tests shorten them.
_rh_retry_delay=${ROUNDHOUSE_RETRY_DELAY:-1}
_rh_wait_tick=${ROUNDHOUSE_WAIT_TICK:-60}
_rh_timed=

# Nanoseconds since the epoch into _rh_ns; $EPOCHREALTIME (bash 5) saves a fork per command.
_rh_now() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    _rh_ns="${EPOCHREALTIME/[.,]/}000"
  else
    _rh_ns=$(date +%s%N)
  fi
}

travis_fold() {
  printf 'travis_fold:%s:%s\r%s' "$1" "$2" "$ANSI_CLEAR"
}

travis_time_start() {
  printf -v TRAVIS_TIMER_ID '%04x%04x' "$RANDOM" "$RANDOM"
  _rh_now
  TRAVIS_TIMER_START_TIME=$_rh_ns
  printf 'travis_time:start:%s\r%s' "$TRAVIS_TIMER_ID" "$ANSI_CLEAR"
}

travis_time_finish() {
  _rh_now
  printf 'travis_time:end:%s:start=%s,finish=%s,duration=%s,event=%s\r%s' \
    "$TRAVIS_TIMER_ID" "$TRAVIS_TIMER_START_TIME" "$_rh_ns" \
    "$((_rh_ns - TRAVIS_TIMER_START_TIME))" "${1:-}" "$ANSI_CLEAR"
}

# _rh_start DISPLAY [notime]: before one command. An empty DISPLAY prints no "$ " line.
_rh_start() {
  TRAVIS_CMD=$1
  if [[ ${2:-} == notime ]]; then
    _rh_timed=
  else
    _rh_timed=1
    travis_time_start
  fi
  if [[ -n $1 ]]; then
    printf '$ %s\n' "$1"
  fi
  return 0
}

# _rh_finish RC STAGE MODE: after one command; MODE is assert, result or none. The status
# stays in _rh_last for steps that react to it (deploys).
_rh_finish() {
  _rh_last=$1
  if [[ -n $_rh_timed ]]; then
    travis_time_finish "$2"
    _rh_timed=
  fi
  case $3 in
    assert) travis_assert "$1" "$2" ;;
    result) travis_result "$1" ;;
  esac
  return 0
}

travis_assert() {
  local rc=${1:-$?}
  if [[ $rc -ne 0 ]]; then
    printf '\n%sThe command "%s" failed and exited with %s during %s.%s\n\nYour build has been stopped.\n' \
      "$ANSI_RED" "$TRAVIS_CMD" "$rc" "${2:-${TRAVIS_STAGE:-}}" "$ANSI_RESET"
    travis_terminate 2
  fi
  return 0
}

travis_result() {
  local rc=${1:-$?} color=$ANSI_GREEN
  export TRAVIS_TEST_RESULT=$((${TRAVIS_TEST_RESULT:-0} | (rc != 0)))
  if [[ $rc -ne 0 ]]; then
    color=$ANSI_RED
  fi
  printf '\n%sThe command "%s" exited with %s.%s\n' "$color" "$TRAVIS_CMD" "$rc" "$ANSI_RESET"
  return 0
}

# travis_cmd CMD [--assert] [--echo] [--display TEXT] [--retry] [--timing]: Travis's wrapper,
# kept for users who call it from their own commands.
travis_cmd() {
  local cmd=$1 display=$1 assert= echo= retry= timing=notime rc
  shift
  while [[ $# -gt 0 ]]; do
    case $1 in
      --assert) assert=1 ;;
      --echo) echo=1 ;;
      --display) display=$2; shift ;;
      --retry) retry=1 ;;
      --timing) timing= ;;
    esac
    shift
  done
  [[ -n $echo ]] || display=
  _rh_start "$display" "$timing"
  TRAVIS_CMD=${display:-$cmd}
  if [[ -n $retry ]]; then
    travis_retry eval "$cmd"
  else
    eval "$cmd"
  fi
  rc=$?
  _rh_finish "$rc" "${TRAVIS_STAGE:-}" none
  if [[ -n $assert ]]; then
    travis_assert "$rc"
  fi
  return "$rc"
}

travis_retry() {
  local _rh_try _rh_rc=0
  for _rh_try in 1 2 3; do
    "$@" && return 0
    _rh_rc=$?
    if [[ $_rh_try -lt 3 ]]; then
      printf '%sThe command "%s" failed. Retrying, %s of 3.%s\n\n' \
        "$ANSI_RED" "$*" "$((_rh_try + 1))" "$ANSI_RESET" >&2
      sleep "$_rh_retry_delay"
    fi
  done
  printf '\n%sThe command "%s" failed 3 times.%s\n\n' "$ANSI_RED" "$*" "$ANSI_RESET" >&2
  return "$_rh_rc"
}

# Prints a line every "minute" so the worker's no-output timeout does not fire, and kills the
# command when its time is up. Its sleep never holds the log pipe open after it is killed.
_rh_wait_jigger() {
  local pid=$1 minutes=$2 cmd=$3 count=0 sleeper=
  trap '[[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null; exit 0' TERM
  while [[ $count -lt $minutes ]]; do
    count=$((count + 1))
    printf 'Still running (%s of %s): %s\n' "$count" "$minutes" "$cmd"
    sleep "$_rh_wait_tick" >/dev/null 2>&1 &
    sleeper=$!
    wait "$sleeper"
  done
  printf '\n%sTimeout (%s minutes) reached. Terminating "%s"%s\n\n' \
    "$ANSI_RED" "$minutes" "$cmd" "$ANSI_RESET"
  kill -9 "$pid" 2>/dev/null
  exit 0
}

travis_wait() {
  local _rh_minutes=20 _rh_log _rh_pid _rh_jigger _rh_rc color=$ANSI_GREEN
  if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    _rh_minutes=$1
    shift
  fi
  _rh_log="${TMPDIR:-/tmp}/travis_wait_$$_${RANDOM}.log"
  "$@" >"$_rh_log" 2>&1 &
  _rh_pid=$!
  _rh_wait_jigger "$_rh_pid" "$_rh_minutes" "$*" &
  _rh_jigger=$!
  wait "$_rh_pid"
  _rh_rc=$?
  kill "$_rh_jigger" 2>/dev/null
  wait "$_rh_jigger" 2>/dev/null
  if [[ $_rh_rc -ne 0 ]]; then
    color=$ANSI_RED
  fi
  printf '\n%sThe command %s exited with %s.%s\n' "$color" "$*" "$_rh_rc" "$ANSI_RESET"
  printf '\n%sLog:%s\n\n' "$ANSI_GREEN" "$ANSI_RESET"
  cat "$_rh_log"
  rm -f "$_rh_log"
  return "$_rh_rc"
}

# Stops every process the job started. When the script leads its own process group (the worker
# starts it that way) one signal reaches them all, daemons included; otherwise only our jobs.
_rh_kill_job_processes() {
  local stat fields pgid= pid
  if [[ -r /proc/$$/stat ]]; then
    read -r stat </proc/$$/stat
    read -ra fields <<<"${stat##*) }"
    pgid=${fields[2]}
  fi
  if [[ $pgid == "$$" ]]; then
    trap '' TERM
    kill -TERM -- "-$$" 2>/dev/null
    trap - TERM
  else
    for pid in $(jobs -p); do
      kill -TERM "$pid" 2>/dev/null
    done
  fi
  return 0
}

travis_terminate() {
  _rh_kill_job_processes
  exit "${1:-0}"
}

# Checkouts the worker keeps in $ROUNDHOUSE_CHECKOUTS (local backend), by a key naming the
# repository, branch, commit and depth: the jobs of a build matrix run the same clone and
# checkout, so a later one copies what an earlier one made: one process instead of git clone's six.
_rh_checkout_copy() {
  local kept=${ROUNDHOUSE_CHECKOUTS:-}/$1
  [[ -n ${ROUNDHOUSE_CHECKOUTS:-} && -d $kept/.git ]] || return 1
  if cp -a "$kept/." "$TRAVIS_BUILD_DIR" 2>/dev/null; then
    printf 'Copied from an earlier clone of the same commit on this worker.\n'
    return 0
  fi
  # The worker may have dropped it meanwhile: clone after all.
  [[ -e $TRAVIS_BUILD_DIR ]] && rm -rf "$TRAVIS_BUILD_DIR"
  return 1
}

# _rh_checkout_keep KEY: after a fresh clone's checkout, keep a copy unless one is kept already.
# The copy appears whole or not at all (renamed into place), so no job copies a partial one.
_rh_checkout_keep() {
  local kept=${ROUNDHOUSE_CHECKOUTS:-}/$1 partial
  [[ -n ${ROUNDHOUSE_CHECKOUTS:-} && -n ${_rh_cloned:-} && ! -e $kept ]] || return 0
  partial=$ROUNDHOUSE_CHECKOUTS/.partial-$1-$$
  if ! { cp -a "$TRAVIS_BUILD_DIR/." "$partial" && mv -T "$partial" "$kept"; } 2>/dev/null; then
    rm -rf "$partial"
  fi
  return 0
}

# _rh_export NAME RAW [secure]: values are shell text, evaluated like Travis does.
_rh_export() {
  if [[ ${3:-} == secure ]]; then
    printf '$ export %s=[secure]\n' "$1"
  else
    printf '$ export %s=%s\n' "$1" "$2"
  fi
  if ! eval "export $1=$2" && [[ ${3:-} == secure ]]; then
    printf '%sWe were unable to parse one of your secure environment variables.%s\n' \
      "$ANSI_RED" "$ANSI_RESET"
    printf 'Please make sure to escape special characters such as '"' '"' (white space) and $ (dollar symbol) with \\ (backslash) .\n'
  fi
  return 0
}

travis_footer() {
  if [[ -z ${TRAVIS_TEST_RESULT:-} ]]; then
    TRAVIS_TEST_RESULT=86
  fi
  printf '\nDone. Your build exited with %s.\n' "$TRAVIS_TEST_RESULT"
  travis_terminate "$TRAVIS_TEST_RESULT"
}
