"""`roundhouse worker`: one worker process on a build machine, talking to RabbitMQ only.

Signals: SIGTERM, or a first Ctrl-C, drains (no new jobs; running ones finish and are
reported; then exit). A second Ctrl-C stops the running jobs and gives them back: each is
reported `requeued` and runs again on another worker. An operator's `roundhouse workers drain
NAME` drains too.

This module and what it imports never load roundhouse.platform (DESIGN.md, Layout).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from roundhouse import __version__
from roundhouse.broker import BrokerUnavailable
from roundhouse.broker.amqp import AmqpBroker
from roundhouse.logformat import configure_logging
from roundhouse.settings import Settings
from roundhouse.worker.backends import make_backend
from roundhouse.worker.worker import Worker

log = logging.getLogger("roundhouse.worker")


class Shutdown:
    """What the signals asked for: a drain (first), then a hard stop (a second Ctrl-C)."""

    def __init__(self) -> None:
        self.drain = asyncio.Event()
        self.now = asyncio.Event()

    def terminate(self) -> None:
        if not self.drain.is_set():
            log.warning("SIGTERM: draining (no new jobs; running jobs finish first)")
        self.drain.set()

    def interrupt(self) -> None:
        if self.drain.is_set():
            log.warning("stopping the running jobs; they run again on another worker")
            self.now.set()
            return
        log.warning(
            "draining: no new jobs, running jobs finish first; Ctrl-C again stops them "
            "(they run again on another worker)"
        )
        self.drain.set()


def make_worker(settings: Settings) -> Worker:
    broker = AmqpBroker(settings.broker_url, name=f"roundhouse worker {settings.name}")
    return Worker(
        broker,
        make_backend(settings),
        name=settings.name,
        queues=settings.queues,
        pool_size=settings.pool_size,
        work_dir=settings.work_dir.resolve(),
        heartbeat_interval=settings.heartbeat_interval,
        outbox_memory=settings.outbox_memory_mb * 1024 * 1024,
        token=settings.token,
    )


async def run(settings: Settings) -> int:
    worker = make_worker(settings)
    shutdown = Shutdown()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, shutdown.terminate)
    loop.add_signal_handler(signal.SIGINT, shutdown.interrupt)
    while True:
        try:
            await worker.start()
            break
        except BrokerUnavailable as error:
            # Workers may well boot before RabbitMQ: wait for it (wrong credentials do not).
            log.warning("%s; trying again", error)
    log.warning(
        "worker %s (roundhouse %s) takes jobs from %s: %d slots, backend %s",
        settings.name,
        __version__,
        ", ".join(settings.queues),
        settings.pool_size,
        settings.backend,
    )
    asked = asyncio.ensure_future(shutdown.drain.wait())
    drain_requested = asyncio.ensure_future(worker.drain_requested.wait())
    await asyncio.wait({asked, drain_requested}, return_when=asyncio.FIRST_COMPLETED)
    asked.cancel()
    drain_requested.cancel()
    draining = asyncio.ensure_future(worker.drain())
    stop_now = asyncio.ensure_future(shutdown.now.wait())
    await asyncio.wait({draining, stop_now}, return_when=asyncio.FIRST_COMPLETED)
    if not draining.done():
        worker.give_back_all("The worker was stopped")
        await draining
    stop_now.cancel()
    await worker.close()
    await worker.broker.close()
    log.warning("worker %s stopped", settings.name)
    return 0


def main(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    return asyncio.run(run(settings))
