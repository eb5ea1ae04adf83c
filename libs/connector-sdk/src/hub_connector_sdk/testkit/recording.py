"""``RecordReplayTransport``: record real provider traffic once, replay it in every test run.

    transport = RecordReplayTransport("tests/cassettes/create_incident.json")   # replay
    client = ProviderClient(gateway_url="http://gw", connection_id="c1", transport=transport)

Modes: ``replay`` (default) answers from the cassette and fails on any request it has no
recording for; ``record`` forwards to ``real`` (a transport reaching a hub gateway, or
:class:`~hub_connector_sdk.testkit.DirectProviderTransport` on a developer machine) and rewrites
the cassette; ``auto`` records only when the file is missing. ``HUB_CASSETTE_MODE`` overrides
the default mode, so ``HUB_CASSETTE_MODE=record pytest`` re-records a suite.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, cast

import httpx

from hub_connector_sdk.testkit.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse

Mode = Literal["replay", "record", "auto"]
MODE_ENV = "HUB_CASSETTE_MODE"
_MODES = ("replay", "record", "auto")
# Describe the body of a freshly read response, never re-decode it.
_STALE_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


class CassetteMismatch(AssertionError):
    """A request the cassette has no recording for (the message shows the closest one)."""


class RecordReplayTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        cassette: str | Path,
        *,
        mode: Mode | None = None,
        real: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[str] = (),
        secret_keys: Iterable[str] = (),
        ignore_fields: Iterable[str] = (),
        allow_repeats: bool = True,
    ) -> None:
        """
        :param secrets: literal values (an API key from the environment) scrubbed wherever
            they appear; credential-shaped strings and secret-named fields are always scrubbed.
        :param secret_keys: more field names whose values are secret.
        :param ignore_fields: query/body field names left out of matching (timestamps, nonces).
        :param allow_repeats: once every recording of a request was used, answer with the last
            one again (health checks polled twice); ``False`` makes the extra call fail.
        """
        path = Path(cassette)
        chosen = mode or os.environ.get(MODE_ENV) or "replay"
        if chosen not in _MODES:
            raise ValueError(f"cassette mode must be one of {', '.join(_MODES)}, not {chosen!r}")
        if chosen == "auto":
            chosen = "replay" if path.exists() else "record"
        self.mode = cast(Mode, chosen)
        self._secrets = tuple(s for s in secrets if s)
        self._secret_keys = frozenset(k.lower().replace("-", "_") for k in secret_keys)
        self._ignore = frozenset(ignore_fields)
        self._allow_repeats = allow_repeats
        self._used: set[int] = set()
        if self.mode == "record":
            if real is None:
                raise ValueError("record mode needs `real`: the transport that reaches the provider")
            self._real: httpx.AsyncBaseTransport | None = real
            self.cassette = Cassette(path)
        else:
            self._real = None
            self.cassette = Cassette.load(path)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()  # a streamed body must be read before it can be recorded or matched
        if self._real is not None:
            return await self._record(request)
        return self._replay(request)

    async def aclose(self) -> None:
        if self._real is not None:
            await self._real.aclose()

    def unplayed(self) -> list[Interaction]:
        """Recordings no request asked for (in replay mode): a call the connector stopped making."""
        return [i for n, i in enumerate(self.cassette.interactions) if n not in self._used]

    # -- record ------------------------------------------------------------------------------------
    async def _record(self, request: httpx.Request) -> httpx.Response:
        assert self._real is not None
        response = await self._real.handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        self.cassette.interactions.append(
            Interaction(
                RecordedRequest.from_httpx(request, self._secrets, self._secret_keys),
                RecordedResponse.from_httpx(response, content, self._secrets, self._secret_keys),
            )
        )
        self.cassette.save()  # after every call, so a failing test still leaves what it recorded
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _STALE_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=content, request=request)

    # -- replay ------------------------------------------------------------------------------------
    def _replay(self, request: httpx.Request) -> httpx.Response:
        live = RecordedRequest.from_httpx(request, self._secrets, self._secret_keys)
        key = self._key(live)
        matching = [
            n for n, recorded in enumerate(self.cassette.interactions) if self._key(recorded.request) == key
        ]
        unused = [n for n in matching if n not in self._used]
        if unused:
            chosen = unused[0]
        elif matching and self._allow_repeats:
            chosen = matching[-1]
        else:
            raise CassetteMismatch(self._mismatch_message(live, repeated=bool(matching)))
        self._used.add(chosen)
        return self.cassette.interactions[chosen].response.to_httpx(request)

    def _key(self, recorded: RecordedRequest) -> str:
        return json.dumps(
            [
                recorded.method,
                recorded.path,
                _without(recorded.query, self._ignore),
                _without(recorded.body.to_dict(), self._ignore),
            ],
            sort_keys=True,
        )

    def _mismatch_message(self, live: RecordedRequest, *, repeated: bool) -> str:
        where = f"cassette {self.cassette.path}"
        if repeated:
            return (
                f"{where}: {live.method} {live.path} was recorded fewer times than it was requested "
                "(allow_repeats=False)"
            )
        lines = [f"{where} has no recording for this request:", f"  {live.summary()}"]
        closest = self._closest(live)
        if closest is None:
            lines.append("  (the cassette is empty)")
        else:
            number, recorded = closest
            lines.append(f"closest recorded (interaction #{number}):")
            lines.append(f"  {recorded.request.summary()}")
            lines.append("differences:")
            lines.extend(f"  - {d}" for d in _differences(recorded.request, live, self._ignore))
        lines.append(f"If the provider call changed on purpose, re-record: {MODE_ENV}=record.")
        return "\n".join(lines)

    def _closest(self, live: RecordedRequest) -> tuple[int, Interaction] | None:
        """The recording that differs least: same method first, then path, query, body."""
        ignore = self._ignore

        def score(recorded: RecordedRequest) -> float:
            same_query = bool(_without(recorded.query, ignore) == _without(live.query, ignore))
            same_body = bool(
                _without(recorded.body.to_dict(), ignore) == _without(live.body.to_dict(), ignore)
            )
            path_likeness = difflib.SequenceMatcher(None, recorded.path, live.path).ratio()  # < 1: tiebreak
            return (
                8.0 * (recorded.method == live.method)
                + 4.0 * (recorded.path == live.path)
                + 2.0 * same_query
                + 1.0 * same_body
                + path_likeness
            )

        interactions = self.cassette.interactions
        if not interactions:
            return None
        best = max(range(len(interactions)), key=lambda n: score(interactions[n].request))
        return best, interactions[best]


def _without(value: Any, ignored: frozenset[str]) -> Any:
    if not ignored:
        return value
    if isinstance(value, dict):
        return {k: _without(v, ignored) for k, v in value.items() if k not in ignored}
    if isinstance(value, list):
        return [_without(v, ignored) for v in value]
    return value


def _differences(recorded: RecordedRequest, live: RecordedRequest, ignored: frozenset[str]) -> list[str]:
    found: list[str] = []
    if recorded.method != live.method:
        found.append(f"method: recorded {recorded.method}, sent {live.method}")
    if recorded.path != live.path:
        found.append(f"path: recorded {recorded.path}, sent {live.path}")
    found += _value_diff("query", _without(recorded.query, ignored), _without(live.query, ignored))
    found += _value_diff(
        "body", _without(recorded.body.to_dict(), ignored), _without(live.body.to_dict(), ignored)
    )
    return found[:12] or ["none in the compared fields (a field you ignore may differ in type)"]


def _value_diff(where: str, recorded: Any, sent: Any) -> list[str]:
    if recorded == sent:
        return []
    if isinstance(recorded, dict) and isinstance(sent, dict):
        out: list[str] = []
        for key in sorted(set(recorded) | set(sent), key=str):
            if key not in sent:
                out.append(f"{where}/{key}: recorded {_short(recorded[key])}, not sent")
            elif key not in recorded:
                out.append(f"{where}/{key}: sent {_short(sent[key])}, not recorded")
            else:
                out += _value_diff(f"{where}/{key}", recorded[key], sent[key])
        return out
    return [f"{where}: recorded {_short(recorded)}, sent {_short(sent)}"]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
