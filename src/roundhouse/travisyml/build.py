"""The whole pipeline for one request: load, normalise, accept, expand, stages, flags, order.

`build_matrix` never raises: every problem is a message (and maybe a rejection).
"""

from __future__ import annotations

from typing import Any

from . import keys as K
from . import matrix, notifications, stages
from .env import settings_env
from .filters import Conditions
from .imports import Importer, ImportFn, merge_request_config
from .load import load
from .messages import Message, Messages
from .normalize import normalize
from .request import rejection
from .result import MatrixJob, MatrixResult, ordered


def build_matrix(
    yaml_text: str,
    request: dict[str, Any] | None = None,
    *,
    defaults: bool = True,
    import_fn: ImportFn | None = None,
) -> MatrixResult:
    """The build a request gets from this `.travis.yml` text (see MatrixResult)."""
    try:
        return _build(yaml_text, dict(request or {}), defaults=defaults, import_fn=import_fn)
    except Exception as exc:  # a bug must not take the gatekeeper down with it
        import logging  # only here: importing it costs every CLI start a few ms

        logging.getLogger(__name__).exception("internal error while building the matrix")
        message = Message("error", "root", "internal_error", f"internal error: {exc!r}")
        return MatrixResult(False, "internal error while reading .travis.yml", messages=[message])


def _build(
    yaml_text: str, request: dict[str, Any], *, defaults: bool, import_fn: ImportFn | None
) -> MatrixResult:
    if not isinstance(yaml_text, str):
        yaml_text = "" if yaml_text is None else str(yaml_text)
    loaded = load(yaml_text)
    msgs = loaded.messages
    if not loaded.ok:
        return _rejected(msgs, "the .travis.yml could not be parsed")
    raw = loaded.config
    if isinstance(raw, dict) or raw is None:
        conditions = Conditions(request, settings_env(request.get("env")), msgs)
        raw = Importer(import_fn, conditions, msgs).resolve(raw or {}, None)
        raw = merge_request_config(raw, request, msgs)
    config = normalize(raw, msgs, defaults=defaults)
    if config is None:
        return _rejected(msgs, "the .travis.yml is not a mapping")
    return build_from_config(config, request, msgs)


def build_from_config(
    config: dict[str, Any], request: dict[str, Any], msgs: Messages | None = None
) -> MatrixResult:
    """The pipeline after normalisation (`config` is a normalised root config)."""
    msgs = msgs if msgs is not None else Messages()
    settings = settings_env(request.get("env"))
    version = "v0" if str(config.get("conditions", "v1")) == "v0" else "v1"
    conditions = Conditions(request, settings, msgs, version)
    reason = rejection(config, request, conditions)
    if reason:
        return MatrixResult(False, reason, messages=msgs.items, config=config)
    try:
        rows = matrix.rows(config, conditions)
    except matrix.TooManyJobs as exc:
        return _too_many(msgs, exc.count, config)
    jobs_section = config.get("jobs") or {}
    stage_list, job_stages = stages.assign(
        config.get("stages"), [r.config.get("stage") for r in rows]
    )
    stage_data = conditions.stage_data(config)

    def check(number: int, stage: stages.Stage) -> bool:
        held = conditions.check(stage.condition, stage_data, "stages.if")
        if held is False:
            msgs.add("info", "stages", "skip_stage", number=number, condition=stage.condition)
        return bool(held)

    stage_list, keep = stages.filter_stages(stage_list, job_stages, check)
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    job_stages = [s for s, k in zip(job_stages, keep, strict=True) if k]
    allowed = conditions.apply_allow_failures(rows, jobs_section.get("allow_failures") or [])
    allowed = [a or bool(r.config.get("allow_failure")) for a, r in zip(allowed, rows, strict=True)]
    if len(rows) > K.MAX_JOBS:
        return _too_many(msgs, len(rows), config)
    jobs: list[MatrixJob] = []
    for number, i in enumerate(stages.order(stage_list, job_stages, allowed), start=1):
        config_out = rows[i].travis_config()
        config_out.pop("stage", None)
        config_out.pop("allow_failure", None)
        name = config_out.get("name")
        jobs.append(MatrixJob(number, job_stages[i], None if name is None else str(name),
                              allowed[i], ordered(config_out)))  # fmt: skip
    return MatrixResult(
        accepted=True,
        stages=[s.name for s in stage_list],
        fast_finish=bool(jobs_section.get("fast_finish")),
        jobs=jobs,
        messages=msgs.items,
        config=config,
        stage_conditions={s.name: s.condition for s in stage_list if s.condition},
        notifications=notifications.select(config, conditions),
    )


def _rejected(msgs: Messages, reason: str) -> MatrixResult:
    first_error = next((m for m in msgs.items if m.level == "error"), None)
    if first_error is not None:
        where = f" (line {first_error.line})" if first_error.line else ""
        reason = f"{reason}: {first_error.text}{where}"
    return MatrixResult(False, reason, messages=msgs.items)


def _too_many(msgs: Messages, count: int, config: dict[str, Any]) -> MatrixResult:
    msgs.add("error", "jobs", "too_many_jobs", count=count, max=K.MAX_JOBS)
    reason = f"the build matrix has {count} jobs, more than the limit of {K.MAX_JOBS}"
    return MatrixResult(False, reason, messages=msgs.items, config=config)
