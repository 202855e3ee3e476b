"""Normalisation of `deploy:`: a list of provider maps, each with a known `provider` and `on:`.

Provider-specific options are kept as given (dpl checks them when the deploy runs).
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
        "boxfuse", "catalyze", "chef_supermarket", "cloud66", "cloudfiles", "cloudformation",
        "cloudfoundry", "codedeploy", "convox", "datica", "elasticbeanstalk", "engineyard",
        "firebase", "flynn", "gae", "gcs", "git_push", "gleis", "hackage", "hephy", "heroku",
        "lambda", "launchpad", "modulus", "netlify", "npm", "openshift", "opsworks", "packagecloud",
        "pages", "puppetforge", "pypi", "releases", "rubygems", "s3", "scalingo", "script", "snap",
        "surge", "testfairy", "transifex",
    }
)  # fmt: skip
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
