"""Test receivers of notifications: a real SMTP server (aiosmtpd) and an HTTP server on
127.0.0.1 that records every request and answers with the status codes it is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.conftest import free_port, serving, wait_for


@dataclass
class Mailbox:
    """What the SMTP server accepted: envelope recipients and the parsed message."""

    port: int = 0
    mails: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append((list(envelope.rcpt_tos), mail))
        return "250 OK"

    async def wait_for_mails(self, count: int, timeout: float = 30) -> list[Any]:
        async def enough() -> list[Any] | None:
            return self.mails if len(self.mails) >= count else None

        found: list[Any] = await wait_for(enough, timeout, f"{count} mails", every=0.05)
        return found


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on a free local port (plain SMTP, no STARTTLS)."""
    mailbox = Mailbox(port=free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@dataclass
class Received:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records requests; answers from `answers` (status codes, used up in order), then 200."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def handle(self, request: Request) -> PlainTextResponse:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.requests.append(
            Received(
                request.method,
                path,
                {k.lower(): v for k, v in request.headers.items()},
                await request.body(),
            )
        )
        status = self.answers.pop(0) if self.answers else 200
        return PlainTextResponse(f"answered {status}", status_code=status)

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 30) -> list[Received]:
        async def enough() -> list[Received] | None:
            found = self.to(path)
            return found if len(found) >= count else None

        result: list[Received] = await wait_for(
            enough, timeout, f"{count} requests to {path}", every=0.05
        )
        return result


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = Starlette(routes=[Route("/{path:path}", found.handle, methods=["POST", "GET"])])
    async with serving(app) as found.url:
        yield found
