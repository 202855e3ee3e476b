"""The admin tools beside the doctor: `roundhouse console` (statements piped to it),
`roundhouse jobs stuck`, `roundhouse workers token`, and JSON logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from roundhouse.db.models import User
from roundhouse.db.session import migrate
from roundhouse.platform.auth import create_token
from roundhouse.platform.workertoken import worker_token
from tests.conftest import Running, free_port
from tests.integration.test_cli import run

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")


def environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    return env | {f"ROUNDHOUSE_{k.upper()}": v for k, v in values.items()}


def test_the_console_runs_piped_statements_with_the_models_and_a_session(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'roundhouse.db'}"
    migrate(database)
    statements = "\n".join(
        [
            "async def add():",
            "    async with session() as s, s.begin():",
            "        s.add(User(login='ada', name='Ada', is_admin=False))",
            "",
            "run(add())",
            "print('users:', [u.login for u in rows(select(User))])",
            "print('count:', one(select(func.count()).select_from(User)))",
            "",
        ]
    )
    result = subprocess.run(
        [str(ROUNDHOUSE), "console"],
        input=statements,
        env=environment(data_dir=str(tmp_path), database_url=database),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "users: ['ada']" in result.stdout
    assert "count: 1" in result.stdout
    assert result.stderr.startswith(f"Roundhouse console on {database}")
    assert "Traceback" not in result.stderr


async def test_jobs_stuck_and_workers_token_from_the_command_line(system: Running) -> None:
    settings = system.instance.services.ctx.settings
    token = await run(system, "workers", "token")
    assert (token.code, token.out.strip()) == (0, worker_token(settings))

    env = environment(data_dir=str(settings.data_dir), database_url=settings.database_url)
    result = subprocess.run(
        [str(ROUNDHOUSE), "jobs", "stuck", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"stuck": [], "done": []}
    both = subprocess.run(
        [str(ROUNDHOUSE), "jobs", "stuck", "--requeue", "--error"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (both.returncode, both.stderr) == (
        1,
        "roundhouse: Give --requeue or --error, not both.\n",
    )


def test_with_log_format_json_every_line_a_process_logs_is_one_json_object(tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        data_dir=str(tmp_path), listen_port=str(port), log_format="json", log_level="debug"
    )
    # The log goes to a file: debug logging fills a pipe nobody reads until the end, and the
    # process would block writing to it.
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(ROUNDHOUSE), "up"], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the server listens
        assert first.startswith("Roundhouse is running at"), first
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    err = log.read_text()
    lines = err.strip().splitlines()
    assert len(lines) > 3, err
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"].startswith("uvicorn") for e in entries), err


async def test_only_administrators_see_the_doctor_and_the_worker_token(system: Running) -> None:
    async with system.instance.services.ctx.sessions() as session, session.begin():
        user = User(login="dev", name="Dev", is_admin=False)
        session.add(user)
        await session.flush()
        token = await create_token(session, user, "test")
    headers = {"Authorization": f"token {token}"}
    for path in ("/api/doctor", "/api/workers/token"):
        answer = await system.http.get(path, headers=headers)
        assert (answer.status_code, answer.json()) == (
            403,
            {"error": "Only an administrator may do this."},
        )
    names = [c["name"] for c in (await system.http.get("/api/doctor")).json()["checks"]]
    assert names[:3] == ["broker", "database", "queues"]


def test_settings_that_do_not_load_are_the_first_fail_and_fix_reports_what_it_did(
    tmp_path: Path,
) -> None:
    bad = subprocess.run(
        [str(ROUNDHOUSE), "doctor"],
        env=environment(data_dir=str(tmp_path), listen_port="70000"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stdout.startswith(
        "FAIL  settings: Setting listen_port = '70000' (from $ROUNDHOUSE_LISTEN_PORT) is not "
        "valid: expected less than or equal to 65535."
    )

    database = f"sqlite:///{tmp_path / 'roundhouse.db'}"
    migrate(database)
    fixed = subprocess.run(
        [str(ROUNDHOUSE), "doctor", "--fix", "requeue", "--json"],
        env=environment(data_dir=str(tmp_path), database_url=database),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(fixed.stdout)
    assert report["fixed"] == []
    assert {"name": "stuck jobs", "status": "ok"}.items() <= next(
        c for c in report["checks"] if c["name"] == "stuck jobs"
    ).items()
