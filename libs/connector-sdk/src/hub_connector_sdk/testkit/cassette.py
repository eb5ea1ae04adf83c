"""Cassettes: recorded provider interactions as reviewable JSON files.

    {"version": 1, "interactions": [
      {"request":  {"method": "POST", "path": "/pages/p1/incidents", "query": {},
                    "json": {"incident": {"name": "API down"}}},
       "response": {"status": 201, "headers": {"content-type": "application/json"},
                    "json": {"id": "inc1", ...}}}]}

Paths are provider paths: the gateway's ``/v1/proxy/{connection_id}`` prefix is removed so a
cassette does not depend on the connection it was recorded with. A body is stored as ``json``,
``form`` (url-encoded fields) or ``text``; at most one of them is present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from hub_connector_sdk.testkit.redaction import kept_response_headers, redact, redact_fields, redact_text

CASSETTE_VERSION = 1
_GATEWAY_PREFIX = re.compile(r"^/v1/proxy/[^/]+(?=/|$)")


def provider_path(raw_path: str) -> str:
    """``/v1/proxy/{connection_id}/pages/p1`` → ``/pages/p1`` (other paths unchanged)."""
    path = _GATEWAY_PREFIX.sub("", raw_path.split("?", 1)[0])
    return path if path.startswith("/") else "/" + path


@dataclass
class Body:
    json: Any = None
    form: dict[str, list[str]] | None = None
    text: str | None = None

    @property
    def empty(self) -> bool:
        return self.json is None and self.form is None and self.text is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.json is not None:
            out["json"] = self.json
        if self.form is not None:
            out["form"] = self.form
        if self.text is not None:
            out["text"] = self.text
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Body:
        return cls(json=data.get("json"), form=data.get("form"), text=data.get("text"))

    @classmethod
    def parse(cls, content: bytes, content_type: str | None) -> Body:
        if not content:
            return cls()
        text = content.decode("utf-8", errors="replace")
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            return cls(form=parse_qs(text, keep_blank_values=True))
        try:
            return cls(json=json.loads(text))
        except ValueError:
            return cls(text=text)

    def encode(self) -> tuple[bytes, str | None]:
        """Bytes and content type to answer with."""
        if self.json is not None:
            return json.dumps(self.json).encode(), "application/json"
        if self.form is not None:
            return _form(self.form), "application/x-www-form-urlencoded"
        if self.text is not None:
            return self.text.encode(), None
        return b"", None

    def redacted(self, secrets: tuple[str, ...], keys: frozenset[str]) -> Body:
        return Body(
            json=redact(self.json, secrets, keys),
            form=redact_fields(self.form, secrets, keys) if self.form is not None else None,
            text=redact_text(self.text, secrets) if self.text is not None else None,
        )


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _form(fields: dict[str, list[str]]) -> bytes:
    return str(httpx.QueryParams([(k, v) for k, values in fields.items() for v in values])).encode()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Body = field(default_factory=Body)

    @classmethod
    def from_httpx(
        cls, request: httpx.Request, secrets: tuple[str, ...] = (), keys: frozenset[str] = frozenset()
    ) -> RecordedRequest:
        """The request as a cassette stores it: provider path, secrets redacted."""
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        body = Body.parse(request.content, request.headers.get("content-type"))
        return cls(
            method=request.method.upper(),
            path=redact_text(provider_path(request.url.raw_path.decode()), secrets),
            query={k: query[k] for k in sorted(query)},
            body=body,
        ).redacted(secrets, keys)

    def redacted(self, secrets: tuple[str, ...], keys: frozenset[str]) -> RecordedRequest:
        return RecordedRequest(
            method=self.method,
            path=self.path,
            query=redact_fields(self.query, secrets, keys),
            body=self.body.redacted(secrets, keys),
        )

    def summary(self) -> str:
        query = "&".join(f"{k}={v}" for k, values in self.query.items() for v in values)
        line = f"{self.method} {self.path}" + (f"?{query}" if query else "")
        if not self.body.empty:
            line += f"\n    body: {json.dumps(self.body.to_dict(), sort_keys=True)[:400]}"
        return line

    def to_dict(self) -> dict[str, Any]:
        # One value is written as a scalar, a repeated key as a list: easier to read and edit.
        query = {k: v[0] if len(v) == 1 else v for k, v in self.query.items()}
        return {"method": self.method, "path": self.path, "query": query, **self.body.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedRequest:
        return cls(
            method=str(data["method"]).upper(),
            path=str(data["path"]),
            query={k: _as_list(v) for k, v in (data.get("query") or {}).items()},
            body=Body.from_dict(data),
        )


@dataclass
class RecordedResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = field(default_factory=Body)

    @classmethod
    def from_httpx(
        cls,
        response: httpx.Response,
        content: bytes,
        secrets: tuple[str, ...] = (),
        keys: frozenset[str] = frozenset(),
    ) -> RecordedResponse:
        return cls(
            status=response.status_code,
            headers=kept_response_headers(response.headers.multi_items(), secrets),
            body=Body.parse(content, response.headers.get("content-type")).redacted(secrets, keys),
        )

    def to_httpx(self, request: httpx.Request) -> httpx.Response:
        content, content_type = self.body.encode()
        headers = dict(self.headers)
        if content_type and "content-type" not in headers:
            headers["content-type"] = content_type
        return httpx.Response(self.status, headers=headers, content=content, request=request)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "headers": self.headers, **self.body.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedResponse:
        return cls(
            status=int(data["status"]),
            headers={str(k).lower(): str(v) for k, v in (data.get("headers") or {}).items()},
            body=Body.from_dict(data),
        )


@dataclass
class Interaction:
    request: RecordedRequest
    response: RecordedResponse

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "response": self.response.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interaction:
        return cls(RecordedRequest.from_dict(data["request"]), RecordedResponse.from_dict(data["response"]))


@dataclass
class Cassette:
    path: Path
    interactions: list[Interaction] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        file = Path(path)
        if not file.exists():
            raise FileNotFoundError(
                f"cassette {file} does not exist; record it first "
                "(RecordReplayTransport(mode='record'), or HUB_CASSETTE_MODE=record)"
            )
        data = json.loads(file.read_text(encoding="utf-8"))
        if data.get("version") != CASSETTE_VERSION:
            raise ValueError(f"cassette {file}: unsupported version {data.get('version')!r}")
        return cls(file, [Interaction.from_dict(i) for i in data.get("interactions", [])])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"version": CASSETTE_VERSION, "interactions": [i.to_dict() for i in self.interactions]}
        self.path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
