"""Queue routing: ordered queue_rules (first match wins), then the job's `queue:` key, then the
default queue.
"""

from __future__ import annotations

from typing import Any

import pytest

from roundhouse.platform.routing import route
from roundhouse.settings import QueueRule, Settings


def settings_with(*rules: dict[str, Any], default_queue: str = "builds.default") -> Settings:
    return Settings(queue_rules=[QueueRule(**rule) for rule in rules], default_queue=default_queue)


RULES = settings_with(
    {"queue": "builds.jammy", "dist": "jammy"},
    {"queue": "docker", "services": "docker"},
    {"queue": "builds.arm", "arch": "arm64", "os": "linux"},
    {"queue": "builds.acme", "owner": "acme"},
    {"queue": "builds.special", "slug": "team/special"},
    {"queue": "builds.gpu", "queue_key": "cuda"},
    {"queue": "builds.python", "language": "python", "group": "edge"},
)


@pytest.mark.parametrize(
    ("config", "slug", "expected"),
    [
        ({"dist": "jammy"}, "team/app", "builds.jammy"),
        ({"dist": "focal"}, "team/app", "builds.default"),
        ({"services": ["postgresql", "docker"]}, "team/app", "builds.docker"),
        ({"services": "docker"}, "team/app", "builds.docker"),
        ({"arch": "arm64", "os": "linux"}, "team/app", "builds.arm"),
        ({"arch": "arm64", "os": "osx"}, "team/app", "builds.default"),  # every field must match
        ({"arch": "arm64"}, "team/app", "builds.default"),
        ({}, "acme/anything", "builds.acme"),
        ({}, "team/special", "builds.special"),
        ({}, "team/special-not", "builds.default"),
        ({"queue": "cuda"}, "team/app", "builds.gpu"),  # a rule can map a `queue:` name
        ({"language": "python", "group": "edge"}, "team/app", "builds.python"),
        ({"language": "python", "group": "stable"}, "team/app", "builds.default"),
        ({}, "team/app", "builds.default"),
    ],
)
def test_rules(config: dict[str, Any], slug: str, expected: str) -> None:
    assert route(config, slug, RULES) == expected


def test_first_matching_rule_wins() -> None:
    settings = settings_with(
        {"queue": "builds.first", "dist": "jammy"},
        {"queue": "builds.second", "dist": "jammy"},
        {"queue": "builds.third", "owner": "team"},
    )

    assert route({"dist": "jammy"}, "team/app", settings) == "builds.first"
    assert route({"dist": "focal"}, "team/app", settings) == "builds.third"


def test_order_of_rules_decides() -> None:
    by_owner_first = settings_with(
        {"queue": "builds.owner", "owner": "acme"}, {"queue": "builds.jammy", "dist": "jammy"}
    )
    by_dist_first = settings_with(
        {"queue": "builds.jammy", "dist": "jammy"}, {"queue": "builds.owner", "owner": "acme"}
    )

    assert route({"dist": "jammy"}, "acme/app", by_owner_first) == "builds.owner"
    assert route({"dist": "jammy"}, "acme/app", by_dist_first) == "builds.jammy"


def test_rule_without_conditions_matches_everything() -> None:
    settings = settings_with({"queue": "builds.everything"})

    assert route({"dist": "jammy"}, "x/y", settings) == "builds.everything"
    assert route({}, "x/y", settings) == "builds.everything"


def test_queue_key_names_the_queue_when_no_rule_matches() -> None:
    assert route({"queue": "gpu"}, "team/app", settings_with()) == "builds.gpu"
    assert route({"queue": "builds.gpu"}, "team/app", settings_with()) == "builds.gpu"


def test_empty_or_odd_queue_key_falls_back_to_default() -> None:
    settings = settings_with()

    assert route({"queue": ""}, "team/app", settings) == "builds.default"
    assert route({"queue": None}, "team/app", settings) == "builds.default"
    assert route({"queue": ["a", "b"]}, "team/app", settings) == "builds.default"


def test_default_queue_setting() -> None:
    settings = settings_with({"queue": "builds.jammy", "dist": "jammy"}, default_queue="builds.x")

    assert route({"dist": "focal"}, "team/app", settings) == "builds.x"
    assert route({"dist": "jammy"}, "team/app", settings) == "builds.jammy"
