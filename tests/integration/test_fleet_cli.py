"""`roundhouse workers` and `roundhouse workers drain` against a running platform."""

from __future__ import annotations

import json

from tests.conftest import SQLITE_ONLY, Running, wait_for
from tests.integration.test_cli import assert_one_error_line, run

# The CLI only speaks HTTP: one database is enough here.
pytestmark = SQLITE_ONLY


async def test_workers_lists_the_local_worker_and_drain_stops_it_taking_jobs(
    system: Running,
) -> None:
    worker = system.instance.worker

    async def beat() -> bool:
        found = await run(system, "workers", "--json")
        return any(w["name"] == worker.name and w["alive"] for w in json.loads(found.out))

    await wait_for(beat, 20, "the local worker's heartbeat", every=0.2)
    listed = await run(system, "workers")
    assert listed.code == 0
    assert f"{worker.name}" in listed.out and "alive" in listed.out
    assert "builds.default" in listed.out

    missing = await run(system, "workers", "drain", "no-such-worker")
    assert "No worker named no-such-worker has ever sent a heartbeat." in assert_one_error_line(
        missing
    )
    drained = await run(system, "workers", "drain", worker.name)
    assert drained.code == 0 and f"Asked worker {worker.name} to drain" in drained.out

    async def draining() -> bool:
        return worker.free_slots == 0 and worker.drain_requested.is_set()

    await wait_for(draining, 10, "the worker to drain")
