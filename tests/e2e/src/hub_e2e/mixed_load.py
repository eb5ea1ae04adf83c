"""A steady mixed load on a running hub, recording every request (docs/adr/0033).

Four kinds, each paced at its own rate, each request its own task (a slow answer never slows the
pace; ``max_in_flight`` bounds the pile-up while something is down):

- ``proxy``: ``GET /v1/proxy/{id}/user`` through the gateway (credential from the vault);
- ``action``: ``create_issue`` through connectors → gateway → the simulator, one unique title
  and ``Idempotency-Key`` each, resent with the same key while the answer is missing, a 5xx or
  ``409 idempotency_key_in_use`` (until the load stops: then its outcome stays in doubt); the
  simulator's issues tell how often each one was executed;
- ``webhook``: a signed GitHub ``issues`` delivery to the webhooks intake, resent with the same
  delivery id until it is acknowledged (2xx), as a provider does;
- ``oauth``: ``GET /v1/oauth/apps/github`` (any answer below 500 is the service working).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

KINDS = ("proxy", "action", "webhook", "oauth")
OUTCOME_SUCCEEDED, OUTCOME_FAILED, OUTCOME_IN_DOUBT = "succeeded", "failed", "in doubt"


@dataclass
class Attempt:
    kind: str
    sent: float  # time.monotonic()
    done: float
    ok: bool
    status: int | None  # None: no answer


@dataclass
class Targets:
    gateway: str
    connectors: str
    oauth: str
    proxy_connection: str
    action_connection: str
    webhook_url: str
    webhook_secret: str
    webhook_body: dict[str, Any]
    webhook_headers: dict[str, str]
    user_headers: dict[str, str]


@dataclass
class MixedLoad:
    targets: Targets
    rates: dict[str, float] = field(
        default_factory=lambda: {"proxy": 8.0, "action": 3.0, "webhook": 10.0, "oauth": 2.0}
    )
    max_in_flight: int = 24
    attempts: list[Attempt] = field(default_factory=list)
    # delivery id → when it was acknowledged; action title → (first sent, outcome)
    acked_webhooks: dict[str, float] = field(default_factory=dict)
    actions: dict[str, tuple[float, str]] = field(default_factory=dict)
    rejected_webhooks: list[tuple[int, str]] = field(default_factory=list)
    _stopping: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=64))
        for kind in KINDS:
            self._tasks.append(asyncio.create_task(self._pace(kind), name=f"load-{kind}"))

    async def stop(self) -> None:
        self._stopping = True
        await asyncio.gather(*self._tasks)
        await self._client.aclose()

    def first_success_since(self, kind: str, since: float) -> float | None:
        done = [a.done for a in self.attempts if a.kind == kind and a.ok and a.sent >= since]
        return min(done) if done else None

    def tried_since(self, kind: str, since: float) -> int:
        return sum(1 for a in self.attempts if a.kind == kind and a.sent >= since)

    async def _pace(self, kind: str) -> None:
        one: Callable[[], Coroutine[Any, Any, None]] = getattr(self, f"_{kind}")
        interval = 1 / self.rates[kind]
        running: set[asyncio.Task[None]] = set()
        next_at = time.monotonic()
        while not self._stopping:
            if len(running) < self.max_in_flight:
                task = asyncio.create_task(one())
                running.add(task)
                task.add_done_callback(running.discard)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if running:
            await asyncio.gather(*running)

    async def _request(self, kind: str, method: str, url: str, **kw: Any) -> httpx.Response | None:
        resp, _ = await self._attempt(kind, method, url, **kw)
        return resp

    async def _attempt(
        self, kind: str, method: str, url: str, **kw: Any
    ) -> tuple[httpx.Response | None, bool]:
        sent = time.monotonic()
        try:
            resp = await self._client.request(method, url, **kw)
        except httpx.HTTPError:
            self.attempts.append(Attempt(kind, sent, time.monotonic(), False, None))
            return None, False
        ok = resp.status_code < 500 if kind == "oauth" else resp.status_code < 300
        if kind == "action" and ok:  # 200 whenever the action ran; ``success`` says how it went
            ok = resp.json().get("success") is True
        self.attempts.append(Attempt(kind, sent, time.monotonic(), ok, resp.status_code))
        return resp, ok

    async def _proxy(self) -> None:
        t = self.targets
        await self._request(
            "proxy", "GET", f"{t.gateway}/v1/proxy/{t.proxy_connection}/user", headers=t.user_headers
        )

    async def _oauth(self) -> None:
        t = self.targets
        await self._request("oauth", "GET", f"{t.oauth}/v1/oauth/apps/github", headers=t.user_headers)

    async def _action(self) -> None:
        t = self.targets
        title = f"resilience action {uuid.uuid4()}"
        headers = {**t.user_headers, "Idempotency-Key": str(uuid.uuid4())}
        sent = time.monotonic()
        self.actions[title] = (sent, OUTCOME_IN_DOUBT)
        while True:
            resp, ok = await self._attempt(
                "action",
                "POST",
                f"{t.connectors}/v1/connections/{t.action_connection}/actions/create_issue",
                headers=headers,
                json={"parameters": {"owner": "pat-owner", "repo": "sandbox", "title": title}},
            )
            if resp is not None and resp.status_code == 200:
                self.actions[title] = (sent, OUTCOME_SUCCEEDED if ok else OUTCOME_FAILED)
                return
            retry = resp is None or resp.status_code >= 500 or _in_use(resp)
            if not retry:
                self.actions[title] = (sent, OUTCOME_FAILED)
                return
            if self._stopping:
                return  # the answer never came: in doubt (the simulator says what happened)
            await asyncio.sleep(0.5)

    async def _webhook(self) -> None:
        t = self.targets
        payload = json.loads(json.dumps(t.webhook_body))
        n = len(self.acked_webhooks) + len(self.attempts)
        payload["issue"].update({"number": n + 1, "id": 20_000_000 + n, "title": f"resilience hook {n}"})
        body = json.dumps(payload).encode()
        delivery = str(uuid.uuid4())
        signature = "sha256=" + hmac.new(t.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {**t.webhook_headers, "x-github-delivery": delivery, "x-hub-signature-256": signature}
        while True:
            resp = await self._request("webhook", "POST", t.webhook_url, content=body, headers=headers)
            if resp is not None and resp.status_code < 300:
                self.acked_webhooks[delivery] = time.monotonic()
                return
            if resp is not None and resp.status_code < 500:
                self.rejected_webhooks.append((resp.status_code, resp.text[:200]))
                return
            if self._stopping:
                # Still unacknowledged at the end: nothing is owed for it.
                return
            await asyncio.sleep(0.2)


def _in_use(resp: httpx.Response) -> bool:
    """409 idempotency_key_in_use: the first attempt has no result (yet)."""
    if resp.status_code != 409:
        return False
    try:
        return bool(resp.json()["error"]["code"] == "idempotency_key_in_use")
    except (ValueError, KeyError, TypeError):
        return False
