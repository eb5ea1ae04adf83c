"""A webhook receiver for tests: a real HTTP server on a free port that records what it gets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self

from hub_e2e.processes import free_port

if TYPE_CHECKING:
    from hub_e2e.simulators.runner import ProviderSim


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class WebhookReceiver:
    """``with WebhookReceiver() as hooks: ... hooks.wait_for(2)``; answers every POST with ``status``
    and, when ``reply`` is set, the body it makes of the request's (Slack's url_verification)."""

    status: int = 200
    reply: Callable[[bytes], bytes] | None = None
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def __enter__(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                owner.received.append(Received(self.path, headers, body))
                answer = owner.reply(body) if owner.reply is not None else b""
                self.send_response(owner.status)
                self.send_header("content-length", str(len(answer)))
                if answer:
                    self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout_s: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} webhooks arrived, expected {count}")
            time.sleep(0.02)
        return list(self.received)


def github_issue_template(sim: ProviderSim) -> tuple[dict[str, Any], dict[str, str]]:
    """A real ``issues.opened`` body and headers, as the GitHub simulator sends them (load
    generators re-sign copies of it)."""
    with WebhookReceiver() as receiver:
        sim.send_webhook("issues", receiver.url, action="opened", secret="x", title="template")
        (got,) = receiver.wait_for(1)
    keep = {
        k: v
        for k, v in got.headers.items()
        if k.startswith("x-github-") or k in ("user-agent", "content-type")
    }
    return json.loads(got.body), keep
