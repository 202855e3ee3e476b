"""Normalisation of `deploy:`: a list of provider maps, each with a known `provider` and `on:`.

Provider options are kept as given (dpl checks them when the deploy runs), except what Travis
itself normalises: renamed options, options that take a list, required options, and plain
strings where a secret is expected.
"""

from __future__ import annotations

from typing import Any

from . import keys as K
from . import spelling
from .messages import Messages
from .validate import cast, type_name

PROVIDERS: frozenset[str] = frozenset(
    {
        "anynines", "atlas", "azure_web_apps", "bintray", "bitballoon", "bluemixcloudfoundry",
        "boxfuse", "cargo", "catalyze", "chef_supermarket", "cloud66", "cloudfiles",
        "cloudformation", "cloudfoundry", "codedeploy", "convox", "datica", "elasticbeanstalk",
        "engineyard",
        "firebase", "flynn", "gae", "gcs", "git_push", "gleis", "hackage", "hephy", "heroku",
        "lambda", "launchpad", "modulus", "netlify", "npm", "openshift", "opsworks", "packagecloud",
        "pages", "puppetforge", "pypi", "releases", "rubygems", "s3", "scalingo", "script", "snap",
        "surge", "testfairy", "transifex",
    }
)  # fmt: skip
# Per provider: old option names, options that hold a list, options that must be given.
OPTION_ALIASES: dict[str, dict[str, str]] = {
    "boxfuse": {"configfile": "config_file"},
    "elasticbeanstalk": {"bucket_name": "bucket"},
    "engineyard": {"environment": "env"},
    "heroku": {"user": "username"},
    "lambda": {"environment_variables": "environment"},
    "pages": {"github_token": "token", "github-token": "token", "github_url": "url"},
    "pypi": {"user": "username"},
    "releases": {"user": "username", "api_key": "token"},
    "rubygems": {"user": "username"},
    "scalingo": {"api_key": "api_token"},
}
LIST_OPTIONS: dict[str, frozenset[str]] = {
    "gae": frozenset({"config"}),
    "lambda": frozenset({"environment", "security_group_ids", "subnet_ids", "function_tags"}),
    "opsworks": frozenset({"instance_ids", "layer_ids"}),
    "packagecloud": frozenset({"package_glob"}),
    "releases": frozenset({"file"}),
    "s3": frozenset({"cache_control", "expires"}),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "launchpad": ("slug", "oauth_token", "oauth_token_secret"),
    "puppetforge": ("username", "password"),
}
SECRET_OPTIONS = frozenset({"password", "api_key", "oauth_token", "oauth_token_secret"})
SECRET_BY_PROVIDER: dict[str, frozenset[str]] = {"surge": frozenset({"token"})}
# Job keys that people put into a deploy by mistake; `script` belongs to the script provider.
MISPLACED = frozenset({"branches", "script"})
ON_KEYS = frozenset(
    {"branch", "all_branches", "tags", "repo", "condition", "os", *K.EXPAND_KEYS, *K.JOB_ALIASES}
)


def normalize_deploy(value: Any, msgs: Messages) -> list[Any]:
    """`deploy:` as a list of provider maps; entries without a usable provider are reported."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            item = {"provider": item}
        if not isinstance(item, dict):
            msgs.add("error", "deploy", "invalid_type", expected="map",
                     actual=type_name(item), value=item)  # fmt: skip
            continue
        entry = _entry(dict(item), msgs)
        if entry is not None:
            out.append(entry)
    return out


def _entry(entry: dict[str, Any], msgs: Messages) -> dict[str, Any] | None:
    provider = entry.get("provider")
    if "provider" not in entry or provider is None:
        msgs.add("error", "deploy", "required", key="provider")
    elif isinstance(provider, (dict, list)):
        msgs.add("error", "deploy.provider", "invalid_type", expected="str",
                 actual=type_name(provider), value=provider)  # fmt: skip
        return None
    else:
        entry["provider"] = _provider(str(provider), msgs)
        entry = _options(entry, entry["provider"], msgs)
    if "true" in entry and "on" not in entry:
        # YAML 1.1 readers turn `on:` into `true:`; Travis takes it back.
        msgs.add("info", "deploy", "alias_key", alias="true", key="on",
                 provider=entry.get("provider"))  # fmt: skip
        entry["on"] = entry.pop("true")
    if "on" in entry:
        entry["on"] = _on(entry["on"], msgs)
    if "run" in entry and not isinstance(entry["run"], list):
        entry["run"] = [entry["run"]]
    if "skip_cleanup" in entry:
        msgs.add("warn", "deploy", "deprecated_key", key="skip_cleanup",
                 info="not supported in dpl v2, use cleanup")  # fmt: skip
    return entry


def _options(entry: dict[str, Any], provider: str, msgs: Messages) -> dict[str, Any]:
    """Renamed options under their new names, lists wrapped, secrets and gaps reported."""
    aliases = OPTION_ALIASES.get(provider, {})
    out: dict[str, Any] = {}
    for key, value in entry.items():
        name = aliases.get(key) or key.replace("-", "_")
        if key in aliases:
            msgs.add("info", "deploy", "alias_key", alias=key, key=name, provider=provider)
        if key in MISPLACED and not (key == "script" and provider == "script"):
            msgs.add("warn", "deploy", "unknown_key", key=key, value=value, provider=provider)
        if name in LIST_OPTIONS.get(provider, ()) and not isinstance(value, list):
            value = [value]
        secrets = SECRET_OPTIONS | SECRET_BY_PROVIDER.get(provider, frozenset())
        if name in secrets and isinstance(value, str):
            msgs.add("alert", f"deploy.{name}", "secure", type="str")
        out[name] = value
    for key in REQUIRED.get(provider, ()):
        if key not in out:
            msgs.add("error", "deploy", "required", key=key, provider=provider)
    return out


def _provider(name: str, msgs: Messages) -> str:
    lowered = name.lower()
    if lowered in PROVIDERS:
        return lowered
    near = spelling.nearest(spelling.clean(lowered), PROVIDERS)
    if near is not None:
        msgs.add("warn", "deploy.provider", "find_value", original=name, value=near)
        return near
    msgs.add("error", "deploy.provider", "unknown_value", value=name)
    return name


def _on(value: Any, msgs: Messages) -> Any:
    if not isinstance(value, dict):
        return {"branch": value if isinstance(value, list) else [value]}
    out: dict[str, Any] = {}
    for key, item in value.items():
        canonical: str = K.JOB_ALIASES.get(key) or key
        if canonical != key:
            msgs.add("info", "deploy.on", "alias_key", alias=key, key=canonical)
        if canonical not in ON_KEYS:
            msgs.add("warn", "deploy.on", "unknown_key", key=key, value=item)
        if canonical in ("branch", "condition"):
            item = item if isinstance(item, list) else [item]
        elif canonical in ("tags", "all_branches"):
            item = cast(item, "bool", f"deploy.on.{canonical}", msgs)
        out[canonical] = item
    return out
