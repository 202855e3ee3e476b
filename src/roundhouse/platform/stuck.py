"""What `roundhouse jobs stuck --requeue|--error` (and `doctor --fix`) does to the jobs the
doctor found stuck (ops/doctor/jobs.py): run them again, or end them as errored."""

from __future__ import annotations

from typing import Literal

from roundhouse.ops.doctor.jobs import StuckJob
from roundhouse.platform.hub import Hub

Action = Literal["requeue", "error"]
WHY = "an operator ended it with `roundhouse jobs stuck --error`: it was {state} for too long"


async def fix_stuck(hub: Hub, stuck: list[StuckJob], action: Action) -> list[str]:
    """Apply action to each job still in the state it was found in; one line per job done."""
    done = []
    for job in stuck:
        if action == "error":
            changed = await hub.error_job(job.id, WHY.format(state=job.state))
            verb = "errored"
        elif job.state == "queued":
            # Its message went missing or nobody took it: publish it again.
            changed = await hub.scheduler.republish([job.id]) > 0
            verb = "published again"
        else:
            why = f"an operator requeued it: it was {job.state} for too long"
            changed = await hub.requeue(job.id, why)
            verb = "requeued as a new attempt"
        if changed:
            done.append(f"job {job.id} ({job.slug} #{job.number}) {verb}")
    return done
