"""The HTTP client the CLI's user commands use: finds URL and token, turns API errors into
one sentence (ClientError) instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roundhouse.tokenfile import ADMIN_TOKEN_FILE

if TYPE_CHECKING:
    import httpx

# httpx is imported where used: every CLI command imports this module, and the offline ones
# (lint, matrix, compile) must start fast. Never roundhouse.settings (~0.17 s) nor
# roundhouse.platform: the worker loads this module and must not load the platform's code.

DEFAULT_URL = "http://127.0.0.1:8080"


class ClientError(Exception):
    pass


def find_token(explicit: str | None, data_dir: Path) -> str:
    if explicit:
        return explicit
    if os.environ.get("ROUNDHOUSE_TOKEN"):
        return os.environ["ROUNDHOUSE_TOKEN"]
    path = Path(os.environ.get("ROUNDHOUSE_DATA_DIR", str(data_dir))) / ADMIN_TOKEN_FILE
    return path.read_text().strip() if path.is_file() else ""


class Client:
    def __init__(
        self, url: str | None, token: str | None, data_dir: Path = Path(".roundhouse")
    ) -> None:
        import httpx

        self.url = (url or os.environ.get("ROUNDHOUSE_URL") or DEFAULT_URL).rstrip("/")
        headers = {}
        found = find_token(token, data_dir)
        if found:
            headers["Authorization"] = f"token {found}"
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def _check(self, response: httpx.Response) -> Any:
        if response.is_success:
            return (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else response.text
            )
        try:
            message = response.json().get("error") or response.text
        except ValueError:
            message = response.text
        raise ClientError(
            f"{response.request.method} {response.request.url.path}: {message} "
            f"(HTTP {response.status_code})"
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            return self._check(self.http.request(method, path, **kwargs))
        except httpx.TransportError as error:
            raise ClientError(
                f"Cannot reach Roundhouse at {self.url} ({error}); is `roundhouse up` running? "
                "Set --url or ROUNDHOUSE_URL."
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        return self._send("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("POST", path, json=body)

    def put(self, path: str, body: Any = None) -> Any:
        return self._send("PUT", path, json=body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self._send("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)

    def stream_lines(self, path: str) -> Iterator[tuple[str, str]]:
        """Server-Sent Events as (event, data) pairs."""
        import httpx

        try:
            with self.http.stream("GET", path, timeout=None) as response:
                if not response.is_success:
                    response.read()
                    self._check(response)
                event = "message"
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        yield event, line[5:].strip()
                    elif not line:
                        event = "message"
        except httpx.TransportError as error:
            raise ClientError(f"Lost the connection to {self.url}: {error}") from None
