# Roundhouse build cache helpers, inlined into scripts whose config has a `cache:`.
# The worker restores the cached directories under $ROUNDHOUSE_CACHE_FETCHED before the job and
# archives $ROUNDHOUSE_CACHE_STORE after it; each directory sits at its absolute path below them,
# except that the build directory is /.build there: on some backends it differs from job to job.

# _rh_cache_path TEXT: the directory a cache entry names (user text: $HOME and ~ expand) in
# _rh_path, and its place below the cache directories in _rh_key.
_rh_cache_path() {
  eval "set -- $1"
  _rh_path=$1
  if [[ $_rh_path != /* ]]; then
    _rh_path=$TRAVIS_BUILD_DIR/$_rh_path
  fi
  _rh_key=$_rh_path
  if [[ $_rh_path == "$TRAVIS_BUILD_DIR"/* ]]; then
    _rh_key=/.build/${_rh_path#"$TRAVIS_BUILD_DIR"/}
  fi
}

# _rh_cache_copy FROM TO [link]: with link, hard links when possible (fast; for the store, which
# the worker archives as the job ends); the fetched copy is really copied, so the worker may reuse it.
_rh_cache_copy() {
  mkdir -p "$2" || return 0
  if [[ ${3:-} == link ]] && cp -al "$1/." "$2/" 2>/dev/null; then
    return 0
  fi
  cp -a "$1/." "$2/"
}

_rh_cache_fetch() {
  local entry
  if [[ -z ${ROUNDHOUSE_CACHE_FETCHED:-} ]]; then
    printf 'The build cache is not available on this worker.\n'
    return 0
  fi
  printf 'attempting to download cache archive\n'
  if [[ -d $ROUNDHOUSE_CACHE_FETCHED ]] && [[ -n $(ls -A "$ROUNDHOUSE_CACHE_FETCHED") ]]; then
    printf 'found cache\n'
  else
    printf 'could not download cache\n'
  fi
  for entry in "$@"; do
    _rh_cache_path "$entry"
    if [[ -d $ROUNDHOUSE_CACHE_FETCHED$_rh_key ]]; then
      _rh_cache_copy "$ROUNDHOUSE_CACHE_FETCHED$_rh_key" "$_rh_path"
    fi
    mkdir -p "$_rh_path"
    printf 'adding %s to cache\n' "$_rh_path"
  done
  return 0
}

_rh_cache_store() {
  local entry
  if [[ -z ${ROUNDHOUSE_CACHE_STORE:-} ]]; then
    return 0
  fi
  for entry in "$@"; do
    _rh_cache_path "$entry"
    if [[ -d $_rh_path ]]; then
      printf 'storing %s\n' "$_rh_path"
      _rh_cache_copy "$_rh_path" "$ROUNDHOUSE_CACHE_STORE$_rh_key" link
    fi
  done
  return 0
}
