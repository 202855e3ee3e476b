"""The build page's job matrix: jobs grouped by stage, with the config keys whose values differ
between the jobs as the table's columns (a Travis matrix varies language version, env, os…).
Reads the serialised jobs, so the page shows what the API returns.
"""

from __future__ import annotations

from typing import Any

# The keys worth a column, in column order; only those whose values differ become columns.
MATRIX_KEYS = [
    "os",
    "dist",
    "arch",
    "language",
    "python",
    "node_js",
    "ruby",
    "go",
    "jdk",
    "php",
    "rust",
    "dart",
    "elixir",
    "otp_release",
    "perl",
    "scala",
    "julia",
    "r",
    "compiler",
    "xcode_sdk",
    "osx_image",
    "gemfile",
    "env",
]


def shown(value: Any) -> str:
    """One config value as the table shows it."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(shown(v) for v in value)
    return str(value)


def job_matrix(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """{"columns": [key…], "stages": [{"name", "required": [job…], "allowed": [job…]}],
    "named": whether any job has a name (else the page leaves out that column)}.

    Each job gets "cells": its values for the columns. Stages keep the order of their jobs.
    """
    configs = [job.get("config") or {} for job in jobs]
    columns = [
        key for key in MATRIX_KEYS if len({shown(config.get(key)) for config in configs}) > 1
    ]
    if not columns and jobs:
        # Nothing varies (one job, say): still show what it ran with.
        columns = [key for key in MATRIX_KEYS if shown(configs[0].get(key))][:3]
    stages: dict[str, dict[str, Any]] = {}
    for job, config in zip(jobs, configs, strict=True):
        name = job.get("stage") or ""
        stage = stages.setdefault(name, {"name": name, "required": [], "allowed": []})
        row = {**job, "cells": [shown(config.get(key)) for key in columns]}
        stage["allowed" if job.get("allow_failure") else "required"].append(row)
    named = any(job.get("name") for job in jobs)
    return {"columns": columns, "stages": list(stages.values()), "named": named}
