# Roundhouse language set-up helpers, inlined into scripts whose language needs a version.
# Each picks the requested version from what the machine provides, or errors the job clearly.

# _rh_version_ok WANTED ACTUAL: "3.11" accepts 3.11.4, "20" accepts v20.1.0, "1.x" any 1.*.
_rh_version_ok() {
  local want=${1#v} have=${2#v}
  want=${want%.x}
  case $want in
    "" | node | stable | latest | current | lts/* | default) return 0 ;;
  esac
  [[ $have == "$want" || $have == "$want".* || $have == "$want"-* ]]
}

# _rh_missing LANGUAGE WANTED [FOUND]: the version is not on this machine; the job errors.
_rh_missing() {
  printf '%s%s %s is not installed on this machine%s.%s\n' \
    "$ANSI_RED" "$1" "$2" "${3:+ (found $3)}" "$ANSI_RESET"
  printf 'Install it on the worker image, or choose an installed version in .travis.yml.\n'
  travis_terminate 2
}

# Prints the interpreter for a wanted Python version: pythonX.Y, pyenv's, or python3 itself.
_rh_find_python() {
  local want=$1 candidate prefix
  case $want in
    pypy*) candidate=$want ;;
    "" | 3) candidate=python3 ;;
    *) candidate=python$want ;;
  esac
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c '' 2>/dev/null; then
    echo "$candidate"
  elif command -v pyenv >/dev/null 2>&1 && prefix=$(pyenv prefix "$want" 2>/dev/null) &&
    [[ -x $prefix/bin/python ]]; then
    echo "$prefix/bin/python"
  elif _rh_version_ok "$want" "$(python3 -c 'import platform; print(platform.python_version())' 2>/dev/null)"; then
    echo python3
  else
    return 1
  fi
}

# Travis runs Python jobs inside ~/virtualenv/pythonX.Y; it is made once and reused.
_rh_setup_python() {
  local want=$1 dir python
  dir=$HOME/virtualenv/python${want:-3}
  if [[ ! -f $dir/bin/activate ]]; then
    if ! python=$(_rh_find_python "$want"); then
      _rh_missing Python "$want" "$(python3 --version 2>&1)"
    fi
    printf '$ %s -m venv %s\n' "$python" "$dir"
    if ! "$python" -m venv "$dir"; then
      printf '%sCould not create a virtualenv with %s.%s\n' "$ANSI_RED" "$python" "$ANSI_RESET"
      travis_terminate 2
    fi
  fi
  printf '$ source %s/bin/activate\n' "$dir"
  source "$dir/bin/activate"
}

# nvm when the machine has it (installs the version), otherwise the node on PATH must match.
_rh_setup_node() {
  local want=$1 nvm_sh=${NVM_DIR:-$HOME/.nvm}/nvm.sh have=
  if [[ -s $nvm_sh ]]; then
    source "$nvm_sh"
    printf '$ nvm install %s\n' "${want:-node}"
    travis_retry nvm install "${want:-node}" || _rh_missing Node.js "$want"
    return 0
  fi
  if command -v node >/dev/null 2>&1; then
    have=$(node --version 2>/dev/null)
  fi
  if [[ -z $have ]] || ! _rh_version_ok "$want" "$have"; then
    _rh_missing Node.js "$want" "$have"
  fi
}

# rvm when the machine has it, otherwise the ruby on PATH must match.
_rh_setup_ruby() {
  local want=$1 have=
  if [[ -s $HOME/.rvm/scripts/rvm ]]; then
    source "$HOME/.rvm/scripts/rvm"
    printf '$ rvm use %s --install --binary --fuzzy\n' "${want:-default}"
    rvm use "${want:-default}" --install --binary --fuzzy || _rh_missing Ruby "$want"
    return 0
  fi
  if command -v ruby >/dev/null 2>&1; then
    have=$(ruby -e 'print RUBY_VERSION' 2>/dev/null)
  fi
  if [[ -z $have ]] || ! _rh_version_ok "$want" "$have"; then
    _rh_missing Ruby "$want" "$have"
  fi
}

_rh_setup_go() {
  local want=$1 have=
  if command -v go >/dev/null 2>&1; then
    have=$(go env GOVERSION 2>/dev/null)
    have=${have#go}
  fi
  if [[ -z $have ]] || ! _rh_version_ok "$want" "$have"; then
    _rh_missing Go "$want" "$have"
  fi
}

# rustup selects (and if needed installs) the toolchain; otherwise the rustc on PATH must match.
_rh_setup_rust() {
  local want=$1 have=
  if command -v rustup >/dev/null 2>&1 && [[ -n $want ]]; then
    export RUSTUP_TOOLCHAIN=$want
    printf '$ rustup toolchain install %s --profile minimal\n' "$want"
    travis_retry rustup toolchain install "$want" --profile minimal >/dev/null 2>&1 ||
      _rh_missing Rust "$want"
    return 0
  fi
  if command -v rustc >/dev/null 2>&1; then
    have=$(rustc --version 2>/dev/null)
    have=${have#rustc }
    have=${have%% *}
  fi
  if [[ -z $have ]] || ! _rh_version_ok "$want" "$have"; then
    _rh_missing Rust "$want" "$have"
  fi
}
