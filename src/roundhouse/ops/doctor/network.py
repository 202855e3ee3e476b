"""Worker-side checks of the way to the platform: its host resolves, its port is open, it
accepts this worker's token, and routes jobs to the queues this worker serves."""

from __future__ import annotations

import socket
from typing import Any

import httpx

from roundhouse.ops.doctor.check import Check, fail, ok, warn
from roundhouse.ops.doctor.tls import TIMEOUT, host_port
from roundhouse.protocol import PROTOCOL_VERSION, TOKEN_REJECTED
from roundhouse.settings import Settings

HELLO_PATH = "/api/workers/hello"
TOKEN_FIX = (
    "run `roundhouse workers token` on the platform and put the value in TOKEN= of "
    "/etc/default/roundhouse-worker (or ROUNDHOUSE_TOKEN), then restart the worker"
)


def platform_address(url: str) -> Check:
    host, port = host_port(url)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return fail(
            "platform address",
            f"the platform's host {host} (platform_url) does not resolve: {error.strerror}",
            f"fix platform_url, or the DNS or /etc/hosts entry of {host}",
        )
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return fail(
            "platform address",
            f"nothing answers on {host} port {port} (platform_url {url}): {reason}",
            f"open TCP port {port} from this machine to {host} (firewall, security group), "
            "check that the platform listens there (listen_host, listen_port), or fix "
            "platform_url",
        )
    return ok("platform address", f"{host} resolves and port {port} is open")


def hello(settings: Settings) -> tuple[Check, dict[str, Any] | None]:
    """Ask the platform whether it accepts this worker's token; its answer when it does."""
    if not settings.token:
        return fail(
            "worker token", "this worker has no token (the setting token is empty)", TOKEN_FIX
        ), None
    try:
        answer = httpx.get(
            settings.platform_url + HELLO_PATH,
            headers={"Authorization": f"token {settings.token}"},
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as error:
        return warn(
            "worker token",
            f"cannot ask the platform at {settings.platform_url} ({error})",
            "see the platform address and TLS checks",
        ), None
    if answer.status_code == 401:
        return fail("worker token", TOKEN_REJECTED, TOKEN_FIX), None
    if answer.status_code != 200:
        return warn(
            "worker token",
            f"{settings.platform_url}{HELLO_PATH} answered HTTP {answer.status_code}: is "
            "platform_url a Roundhouse platform of this version?",
            "fix platform_url, or upgrade the platform to this worker's version",
        ), None
    return ok(
        "worker token", f"the platform at {settings.platform_url} accepts this worker's token"
    ), answer.json()


def agreement(settings: Settings, answer: dict[str, Any]) -> list[Check]:
    """Protocol version and queues, as the platform's hello answer tells them."""
    checks = []
    served = answer.get("protocols") or []
    if PROTOCOL_VERSION not in served:
        checks.append(
            fail(
                "protocol",
                f"this worker speaks protocol {PROTOCOL_VERSION}, the platform serves "
                f"{', '.join(map(str, served)) or 'none'}",
                "install the same roundhouse version on this worker and on the platform",
            )
        )
    routed = set(answer.get("routed_queues") or [])
    for queue in settings.queues:
        if queue not in routed:
            checks.append(
                warn(
                    f"routing {queue}",
                    f"the platform routes no jobs to {queue} (default_queue and queue_rules "
                    f"give: {', '.join(sorted(routed))}); only jobs with `queue:` reach it",
                    "serve one of those queues (setting queues), or add a queue_rules entry "
                    f"for {queue} on the platform",
                )
            )
    return checks
