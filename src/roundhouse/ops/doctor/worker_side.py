"""`roundhouse doctor --worker`: every check of a build machine, from its settings to the
platform's certificate. Loads worker code, never the platform's."""

from __future__ import annotations

import asyncio

from roundhouse.ops.doctor import backend, network
from roundhouse.ops.doctor import broker as broker_checks
from roundhouse.ops.doctor.check import Check, ok
from roundhouse.ops.doctor.tls import trusted_here, trusted_in_jobs
from roundhouse.settings import Settings


async def run_worker_checks(settings: Settings, source: str) -> list[Check]:
    """source says where the settings came from, for the first line of the report."""
    checks = [
        ok(
            "settings",
            f"settings from {source}: worker {settings.name}, queues {', '.join(settings.queues)}",
        )
    ]
    address = await asyncio.to_thread(network.platform_address, settings.platform_url)
    checks.append(address)
    if address.status == "ok":
        checks.append(await asyncio.to_thread(trusted_here, settings.platform_url))
        if settings.ca_bundle_file is not None:
            checks.append(
                await asyncio.to_thread(
                    trusted_in_jobs, settings.platform_url, settings.ca_bundle_file
                )
            )
        token, answer = await asyncio.to_thread(network.hello, settings)
        checks.append(token)
        if answer is not None:
            checks += network.agreement(settings, answer)
    connection_check, connection = await broker_checks.connect(settings.broker_url)
    checks.append(connection_check)
    if connection is not None:
        try:
            checks += await broker_checks.consumed_queues(connection, settings.queues)
        finally:
            await connection.close()
    usable, made = await asyncio.to_thread(backend.backend, settings)
    checks.append(usable)
    if made is not None:
        checks += await asyncio.to_thread(backend.images, settings, made)
    checks += backend.directories(settings)
    return checks
