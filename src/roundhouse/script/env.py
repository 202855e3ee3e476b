"""The `export` stage: TRAVIS_* variables, then repository settings, then .travis.yml env.

Later exports win, so the order below is Travis's precedence (travis-internals.md 3.7, 4.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roundhouse.script.languages import version_env
from roundhouse.script.shell import echo, is_name, quote
from roundhouse.travisyml.env import split_line

# Travis caps the exported commit message at 32 KiB.
MAX_COMMIT_MESSAGE = 32768
UNPARSABLE_SECURE = "We were unable to parse one of your secure environment variables."


@dataclass(frozen=True)
class Var:
    """One variable to export: `value` is shell text, evaluated by bash as Travis does."""

    name: str
    value: str
    secure: bool = False


def _web_urls(payload: Any) -> tuple[str, str]:
    """The job's and the build's web addresses (the build's derived from the job's)."""
    job_url = str(payload.get("web_url") or "")
    build_url = str(payload.get("build_web_url") or "")
    job_id = str(payload["job"]["id"])
    if not build_url and job_url.endswith(f"/jobs/{job_id}"):
        build_url = job_url[: -len(job_id) - 5] + f"builds/{payload['build']['id']}"
    return job_url, build_url


def _flag(value: Any) -> str:
    return "true" if value else "false"


def builtin_vars(payload: Any, secure_env: bool) -> dict[str, str]:
    """TRAVIS_* and friends, as plain values (exported quoted, never evaluated)."""
    job, build, commit = payload["job"], payload["build"], payload["commit"]
    repo = payload["repository"]
    config: dict[str, Any] = payload.get("config") or {}
    pull_request = commit.get("pull_request")
    stage = job.get("stage_name") or ""
    job_url, build_url = _web_urls(payload)
    message = (commit.get("message") or "").encode()[:MAX_COMMIT_MESSAGE].decode(errors="ignore")
    values = {
        "TRAVIS": "true",
        "CI": "true",
        "CONTINUOUS_INTEGRATION": "true",
        "PAGER": "cat",
        "HAS_JOSH_K_SEAL_OF_APPROVAL": "true",
        "DEBIAN_FRONTEND": "noninteractive",
        "TRAVIS_ROOT": "/",
        "TRAVIS_ALLOW_FAILURE": _flag(job.get("allow_failure")),
        "TRAVIS_EVENT_TYPE": build.get("event_type") or "push",
        "TRAVIS_PULL_REQUEST": str(pull_request) if pull_request else "false",
        "TRAVIS_PULL_REQUEST_BRANCH": commit.get("pull_request_head_branch") or "",
        "TRAVIS_PULL_REQUEST_SHA": commit.get("pull_request_head_sha") or "",
        "TRAVIS_PULL_REQUEST_SLUG": commit.get("pull_request_head_slug") or "",
        "TRAVIS_SECURE_ENV_VARS": _flag(secure_env),
        "TRAVIS_BUILD_ID": str(build["id"]),
        "TRAVIS_BUILD_NUMBER": str(build["number"]),
        "TRAVIS_BUILD_WEB_URL": build_url,
        "TRAVIS_JOB_ID": str(job["id"]),
        "TRAVIS_JOB_NAME": job.get("name") or "",
        "TRAVIS_JOB_NUMBER": str(job["number"]),
        "TRAVIS_JOB_WEB_URL": job_url,
        "TRAVIS_JOB_RESTARTED": _flag((job.get("attempt") or 1) > 1),
        "TRAVIS_BRANCH": commit.get("tag") or commit.get("branch") or "",
        "TRAVIS_COMMIT": commit.get("sha") or "",
        "TRAVIS_COMMIT_MESSAGE": message,
        "TRAVIS_COMMIT_RANGE": commit.get("range") or "",
        "TRAVIS_TAG": commit.get("tag") or "",
        "TRAVIS_REPO_SLUG": repo["slug"],
        "TRAVIS_REPO_PRIVATE": _flag(repo.get("private")),
        "TRAVIS_OS_NAME": str(config.get("os") or "linux"),
        "TRAVIS_LANGUAGE": str(config.get("language") or "ruby"),
        "TRAVIS_SUDO": "true",
        "TRAVIS_BUILD_STAGE_NAME": stage[:1].upper() + stage[1:],
    }
    if config.get("dist"):
        values["TRAVIS_DIST"] = str(config["dist"])
    if config.get("arch"):
        values["TRAVIS_CPU_ARCH"] = str(config["arch"])
    values.update(version_env(config))
    return values


def render_builtin(payload: Any, secure_env: bool) -> list[str]:
    """Silent exports of the built-in variables, plus the ones computed on the machine."""
    slug = payload["repository"]["slug"]
    values = builtin_vars(payload, secure_env)
    lines = [f"export {name}={quote(value)}" for name, value in values.items()]
    config = payload.get("config") or {}
    lines += [
        # The worker chooses the checkout directory; Travis's layout is the fallback.
        "if [[ -z ${TRAVIS_BUILD_DIR:-} ]]; then"
        f' TRAVIS_BUILD_DIR="$HOME/build/"{quote(slug)}; fi',
        'if [[ $TRAVIS_BUILD_DIR != /* ]]; then TRAVIS_BUILD_DIR="$PWD/$TRAVIS_BUILD_DIR"; fi',
        'export TRAVIS_BUILD_DIR TRAVIS_HOME="$HOME" TERM="${TERM:-xterm}"',
        'export TRAVIS_TMPDIR="${TMPDIR:-/tmp}" TRAVIS_TEST_RESULT=',
    ]
    if not config.get("arch"):
        lines.append(
            "case $HOSTTYPE in x86_64) TRAVIS_CPU_ARCH=amd64 ;; aarch64) TRAVIS_CPU_ARCH=arm64 ;;"
            " *) TRAVIS_CPU_ARCH=$HOSTTYPE ;; esac;"
            " export TRAVIS_CPU_ARCH TRAVIS_ARCH=$TRAVIS_CPU_ARCH"
        )
    if not config.get("dist"):
        # /etc/os-release read by bash itself: no lsb_release, no fork.
        lines.append(
            "TRAVIS_DIST=notset; if [[ -r /etc/os-release ]]; then"
            " while IFS='=' read -r k v; do [[ $k == VERSION_CODENAME && -n $v ]]"
            ' && TRAVIS_DIST=${v//\\"/}; done </etc/os-release; fi; export TRAVIS_DIST'
        )
    return lines


def settings_vars(payload: Any) -> list[Var]:
    """Repository settings variables for this branch: unscoped first, branch-scoped override."""
    branch = payload["commit"].get("branch")
    items = payload.get("env_vars") or []
    ordered = [v for v in items if not v.get("branch")]
    ordered += [v for v in items if v.get("branch") and v.get("branch") == branch]
    return [
        Var(str(v["name"]), str(v.get("value") or ""), secure=not v.get("public", False))
        for v in ordered
        if is_name(str(v.get("name", "")))
    ]


def split_vars(line: str, secure: bool = False) -> list[Var]:
    """`A=1 B="x y"` → [A, B] with values as written; no variables when any word is not a pair."""
    found, invalid = split_line(line)
    if invalid:
        return []
    pairs = [pair.split("=", 1) for pair in found]
    return [Var(name, value, secure=secure) for name, value in pairs]


def config_vars(config: dict[str, Any]) -> tuple[list[Var], int]:
    """Variables of config["env"] in order, and how many secure entries could not be parsed."""
    entries = config.get("env") or []
    if isinstance(entries, str | dict):
        entries = [entries]
    result: list[Var] = []
    broken = 0
    for entry in entries:
        if isinstance(entry, dict) and "secure" in entry:
            # The platform hands decrypted secure entries over as {"secure": "NAME=value"}.
            parsed = split_vars(str(entry["secure"]), secure=True)
            broken += not parsed
        elif isinstance(entry, dict):
            parsed = [Var(str(k), str(v)) for k, v in entry.items() if is_name(str(k))]
        elif str(entry).startswith("SECURE "):
            parsed = split_vars(str(entry)[7:], secure=True)
            broken += not parsed
        else:
            parsed = split_vars(str(entry))
        result.extend(parsed)
    return result, broken


def _export(var: Var) -> str:
    return f"_rh_export {var.name} {quote(var.value)}" + (" secure" if var.secure else "")


def render_user_env(payload: Any) -> list[str]:
    """Echoed exports of settings variables, then .travis.yml variables (Travis's headings)."""
    lines: list[str] = []
    settings = settings_vars(payload)
    if settings:
        lines.append(echo("Setting environment variables from repository settings", "YELLOW"))
        lines += [_export(v) for v in settings]
        lines.append("echo")
    configured, broken = config_vars(payload.get("config") or {})
    if configured or broken:
        lines.append(echo("Setting environment variables from .travis.yml", "YELLOW"))
        lines += [_export(v) for v in configured]
        if broken:
            lines.append(echo(UNPARSABLE_SECURE, "RED"))
        lines.append("echo")
    return lines


def has_secure(payload: Any) -> bool:
    """Whether any secure variable reaches this job (TRAVIS_SECURE_ENV_VARS)."""
    configured, broken = config_vars(payload.get("config") or {})
    return broken > 0 or any(v.secure for v in [*settings_vars(payload), *configured])
