"""One proxied call: resolve → refuse early (provider budget, quota, circuit) → inject → call the
provider (retrying only where it is safe) → hand the answer back as a stream.

What to do after each attempt (retry, refresh the OAuth credential once, or return) is decided
by the pure ``domain/retry.py``; this module carries it out. Provider rate-limit signals are
classified and parsed by ``domain/provider_limits.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from hub_common.license import Feature, require_feature
from hub_common.web.auth import Tier
from hub_gateway.adapters.http1.errors import (
    BodyLengthMismatch,
    ConnectError,
    ConnectTimeout,
    Disconnected,
    HeadersTooLarge,
    PoolBusy,
    ProtocolError,
    UnsendableHeader,
    UploadBroken,
)
from hub_gateway.adapters.http1.errors import UpstreamError as ClientError
from hub_gateway.adapters.http1.headers import HeaderBlock
from hub_gateway.adapters.hub_services import OAuthRefresher
from hub_gateway.domain import body_scrub, provider_limits, tiers, usage
from hub_gateway.domain.caller import GatewayCaller
from hub_gateway.domain.circuit import CircuitBoard
from hub_gateway.domain.connection import ConnectionTarget
from hub_gateway.domain.errors import (
    BodyLengthInvalid,
    BodyTooLarge,
    CircuitOpen,
    ClientGone,
    ConnectionNotFound,
    HeaderNotSendable,
    RequestBodyTimeout,
    UpstreamError,
    UpstreamHeadersTooLarge,
    UpstreamPoolBusy,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from hub_gateway.domain.headers import forwarded_headers, request_headers, response_headers
from hub_gateway.domain.injection import Injection
from hub_gateway.domain.paths import upstream_path
from hub_gateway.domain.retry import (
    CIRCUIT_STATUSES,
    DECIDED_STATUSES,
    FAILURE,
    NO_VERDICT,
    REFRESH,
    RETURN,
    SUCCESS,
    Retry,
    RetryPolicy,
    circuit_verdict,
    decide,
    decide_on_failure,
    is_idempotent,
)
from hub_gateway.domain.tiers import TierQuotas
from hub_gateway.domain.transforms import (
    MessageTransform,
    RouteTransform,
    TransformTooExpensive,
    apply_body,
    apply_headers,
    apply_path,
)
from hub_gateway.services.limiter import QuotaLimiter
from hub_gateway.services.provider_budget import ProviderBudgets, SnapshotWriter
from hub_gateway.services.resolver import Resolver
from hub_gateway.services.transforms import TransformService
from hub_gateway.services.upstream_span import end_upstream_span, upstream_span
from hub_gateway.services.usage import UsageMeter

if TYPE_CHECKING:
    from hub_gateway.adapters.http1.client import Http1Client
    from hub_gateway.adapters.http1.connection import Response

# The services whose calls marked ``X-Hub-Purpose: health-check`` may go through an
# `initializing` connection (a user, or any other service, saying so changes nothing).
HEALTH_CHECKERS = frozenset({"connectors"})
SMALL_BODY = 64 * 1024
SNAPSHOT_EVERY_S = 0.1
_BODY_VALIDATORS = frozenset({"etag", "content-md5", "digest", "repr-digest", "content-digest"})


@dataclass(slots=True)
class ProxyRequest:
    connection_id: uuid.UUID
    method: str
    provider_path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    client_ip: str | None
    scheme: str
    host: str | None
    traceparent: str | None = None  # this call's W3C context (upstream only where opted in)
    health_check: bool = False  # the caller marked it a health check (X-Hub-Purpose)


class RequestBody:
    """The caller's body: buffered (replayable) when small, else streamed once."""

    def __init__(
        self, data: bytes | None = None, stream: AsyncIterator[bytes] | None = None, length: int | None = None
    ) -> None:
        self.data = data
        self.stream = stream
        self.length = length
        self.too_large = False
        self.caller_gone = False
        self.stalled = False  # nothing came from the caller for the body idle timeout
        self.consumed = False

    @property
    def replayable(self) -> bool:
        return self.stream is None

    def payload(self) -> Any:
        if self.stream is None:
            return self.data or None
        if self.consumed:
            raise RuntimeError("a streamed body can be sent once")
        self.consumed = True
        return self.stream


@dataclass(slots=True)
class CallContext:
    """What the endpoint needs afterwards for the event and the metrics."""

    target: ConnectionTarget | None = None
    remaining: int | None = None
    error_code: str | None = None
    attempts: int = 0


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    release: Callable[[], Any] | None = None


@dataclass
class ProxySettings:
    max_retries: int = 2
    max_retry_after_s: float = 2.0
    retry_backoff_s: float = 0.1
    transform_max_body_bytes: int = 1024 * 1024
    # Connector ids ("*": all) whose providers get the gateway's traceparent and X-Forwarded-*
    # (an in-house service that joins the hub's traces); every other provider gets neither.
    propagate_context_to: frozenset[str] = frozenset()
    provider_default_backoff_s: float = 1.0
    provider_block_max_s: float = 3600.0
    quotas: dict[Tier, TierQuotas] = field(default_factory=lambda: dict(tiers.DEFAULT_QUOTAS))


class ProxyService:
    def __init__(
        self,
        *,
        client: Http1Client,
        resolver: Resolver,
        limiter: QuotaLimiter,
        budgets: ProviderBudgets,
        snapshots: SnapshotWriter,
        circuits: CircuitBoard,
        refresher: OAuthRefresher,
        transforms: TransformService | None,
        settings: ProxySettings,
        usage: UsageMeter | None = None,
    ) -> None:
        self.client = client
        self.resolver = resolver
        self.limiter = limiter
        self.budgets = budgets
        self.snapshots = snapshots
        self.circuits = circuits
        self.refresher = refresher
        self.transforms = transforms
        self.settings = settings
        self.retry_policy = RetryPolicy(
            settings.max_retries, settings.max_retry_after_s, settings.retry_backoff_s
        )
        self.usage = usage
        self._refreshing: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._refreshed: dict[uuid.UUID, str] = {}  # sha256 of the last token refreshed, per connection
        self._parsed_at: dict[uuid.UUID, float] = {}
        self._blocks: dict[uuid.UUID, _HeaderBlocks] = {}

    def quotas_for(self, tier: Tier) -> TierQuotas:
        q = self.settings.quotas
        return q.get(tier) or q[Tier.WRITERPRO]

    async def handle(
        self,
        caller: GatewayCaller,
        req: ProxyRequest,
        read_body: Callable[[], Awaitable[RequestBody]] | None,
        ctx: CallContext,
    ) -> Reply:
        """One call; ``read_body`` is None when the call declares no body. Cache hits, leased
        quota tokens and the no-transform case are taken without awaiting a coroutine each (each
        costs about a microsecond on the hot path)."""
        resolver = self.resolver
        tenant_id = caller.tenant_id
        if caller.connection_id is not None and caller.connection_id != req.connection_id:
            raise ConnectionNotFound()  # a plugin token grants its own connection only
        target = resolver.cached_target(req.connection_id, tenant_id) or await resolver.target(
            req.connection_id, tenant_id
        )
        if target.tenant_id != tenant_id:  # the resolver checks too; this is the last word
            raise ConnectionNotFound()  # another tenant's connection does not exist for this caller
        ctx.target = target
        if target.custom and caller.kind != "service":
            # The tier of the caller's token, now: a tenant downgraded from Enterprise stops
            # using its custom connections here too, not only at the connectors service.
            require_feature(caller.tier, Feature.CUSTOM_CONNECTORS)
        # A health check may go through an initializing connection, only when the connectors
        # service makes it (its own token, or a plugin token it minted for a health check).
        checking = req.health_check and (
            (caller.kind == "service" and caller.subject in HEALTH_CHECKERS) or caller.health_check
        )
        target.ensure_usable(checking)
        wait = self.budgets.check(target.id, req.provider_path, wait_up_to=self.settings.max_retry_after_s)
        if wait > 0:  # a short block (a 529's Retry-After another call met) is waited out, not refused
            await asyncio.sleep(wait + 0.01)  # the loop's clock may wake a hair before the wall clock
            self.budgets.check(target.id, req.provider_path)  # a longer block that came meanwhile refuses
        quotas = self.quotas_for(caller.tier)
        if not self.limiter.take_leased(target.tenant_id, target.id_text, quotas):
            await self.limiter.acquire(target.tenant_id, target.id_text, quotas)
        route = await self._route(caller, target, req) if self._may_transform(caller) else None
        provider_path = apply_path(route, req.provider_path) if route else req.provider_path
        if checking:  # judge the credential stored now, not one cached before a rotation
            resolver.invalidate(target.id, "health_check", credentials_only=True)
        injection = resolver.cached_injection(target) or await resolver.injection(target)
        circuit = self.circuits.get(target.circuit_key)
        if not circuit.allow(time.monotonic()):
            retry = max(1, round(circuit.retry_after(time.monotonic())))
            raise CircuitOpen(
                f"{target.origin} is failing; calls are paused for {retry} s",
                details={"host": target.origin, "retry_after_s": retry},
                headers={"Retry-After": str(retry)},
            )
        # This call is the half-open circuit's one trial: remember which.
        trial = circuit.trial_started_at if circuit.on_trial else None
        try:
            body = RequestBody()
            if read_body is not None:
                body = await read_body()
                # Reading it may have taken a while: a disconnect or a changed credential applied
                # meanwhile must hold for this call too, before anything is sent.
                target, injection = await self._still_current(
                    target, injection, just_refreshed=False, health_check=checking
                )
            if route is not None and route.request.touches_body:
                body = self._transform_request_body(route, req, body)
            return await self._call(
                caller,
                target,
                req,
                provider_path,
                injection,
                route,
                body,
                ctx,
                trial=trial,
                health_check=checking,
            )
        except BaseException:
            # Whatever ended this call before the provider answered (the caller left, a refused
            # header, a cancellation) says nothing about the endpoint: a trial it held is freed.
            if trial is not None:
                circuit.abandon(trial)
            raise

    def _may_transform(self, caller: GatewayCaller) -> bool:
        # Transforms are the tenant's own API shaping; connector actions (service callers) always
        # see the provider's native API.
        return self.transforms is not None and caller.kind == "user" and caller.tier is Tier.ENTERPRISE

    async def _route(
        self, caller: GatewayCaller, target: ConnectionTarget, req: ProxyRequest
    ) -> RouteTransform | None:
        if self.transforms is None or not self._may_transform(caller):
            return None
        spec = await self.transforms.for_call(target.tenant_id, target.connector_id)
        return spec.route_for(req.method, req.provider_path) if spec else None

    def _transform_request_body(
        self, route: RouteTransform, req: ProxyRequest, body: RequestBody
    ) -> RequestBody:
        content_type = next((v for n, v in req.headers if n == b"content-type"), b"")
        if (
            body.data is None
            or not _editable_json(content_type.decode("latin-1"))
            or len(body.data) > self.settings.transform_max_body_bytes
        ):
            return body
        try:
            data = orjson.dumps(apply_body(route.request, orjson.loads(body.data)))
        except (orjson.JSONDecodeError, TransformTooExpensive):
            return body
        return RequestBody(data=data, length=len(data))

    def _headers(
        self,
        target: ConnectionTarget,
        req: ProxyRequest,
        injection: Injection,
        route: RouteTransform | None,
    ) -> tuple[list[tuple[str, str]], HeaderBlock]:
        """The per-call headers, and the block of the connection's own (its default headers
        unless the caller or a transform changes them, then the credential), encoded once per
        cache entry."""
        drop = injection.request_drop
        if target.usage_format is not None:
            drop = (*drop, b"accept-encoding")  # an identity answer, so its usage can be read
        headers = request_headers(req.headers, also_drop=drop)
        blocks = self._blocks_for(target, injection)
        block = blocks.with_defaults
        if target.default_headers and (route is not None or _names_any(headers, blocks.default_names)):
            if route is None and _only_wildcard_accept(headers, blocks.default_names):
                # "Accept: */*" (most clients' default) is no preference: the provider's
                # documented media type in the block replaces it.
                return _without_accept(headers, req, blocks.propagate), block
            block = blocks.credential
            # The caller's own value wins, except "Accept: */*" (most clients' default, i.e. no
            # preference): then the provider's documented media type applies.
            present = {n for n, v in headers if n != "accept" or v.strip() != "*/*"}
            defaults = [(n, v) for n, v in target.default_headers if n not in present]
            if defaults:
                names = {n for n, _ in defaults}
                headers = [(n, v) for n, v in headers if n not in names]
                headers.extend(defaults)
        if blocks.propagate:
            _add_context_headers(headers, req)
        if route is not None:
            headers = apply_headers(route.request, headers)
            if route.response.touches_body:
                headers = [(n, v) for n, v in headers if n != "accept-encoding"]  # identity, to edit it
        return headers, block

    def _blocks_for(self, target: ConnectionTarget, injection: Injection) -> _HeaderBlocks:
        """Built when a cache entry changes (both are replaced, never mutated, when they do)."""
        blocks = self._blocks.get(target.id)
        if blocks is None or blocks.target is not target or blocks.injection is not injection:
            if len(self._blocks) >= 100_000:
                self._blocks.clear()
            propagate = self.settings.propagate_context_to
            blocks = self._blocks[target.id] = _HeaderBlocks.build(
                target, injection, "*" in propagate or target.connector_id in propagate
            )
        return blocks

    async def _call(
        self,
        caller: GatewayCaller,
        target: ConnectionTarget,
        req: ProxyRequest,
        provider_path: str,
        injection: Injection,
        route: RouteTransform | None,
        body: RequestBody,
        ctx: CallContext,
        *,
        trial: float | None = None,
        health_check: bool = False,
    ) -> Reply:
        refreshed = False
        retries = 0
        blamed = False  # the provider's circuit hears of one failure per call at most
        policy = self.retry_policy
        while True:
            ctx.attempts += 1
            if ctx.attempts > 1:
                # A wait may have let a disconnect or a credential change in: a retry goes out
                # only through a connection that is still there, with its current credential
                # (after a refresh, the injection is the refreshed one already).
                target, injection = await self._still_current(
                    target, injection, just_refreshed=refreshed, health_check=health_check
                )
            path = upstream_path(provider_path, injection.apply_query(req.query))
            circuit = self.circuits.get(target.circuit_key)
            try:
                headers, block = self._headers(target, req, injection, route)
                span = upstream_span(req.method, target, path, ctx.attempts)
                try:
                    resp = await self.client.request_at(
                        req.method,
                        target.base_url,
                        path,
                        headers,
                        body.payload(),
                        body_length=body.length,
                        block=block,
                    )
                except BaseException as exc:
                    if span is not None:
                        end_upstream_span(span, None, exc)
                    raise
                if span is not None:
                    end_upstream_span(span, resp.status, None)
            except UnsendableHeader:
                # Ours to fix (the connection's credential, its defaults or a route's transform),
                # found before anything was sent: the provider's circuit does not hear of it.
                raise HeaderNotSendable(
                    "a header for this call cannot be sent (a line break, NUL or a character "
                    "outside ISO-8859-1): check the connection's credential and the route's transforms"
                ) from None
            except ClientError as exc:
                _raise_if_not_the_providers(exc, body, target.host)
                if not blamed and not isinstance(exc, UploadBroken):
                    blamed = True
                    circuit.failure(time.monotonic())
                failure_decision = decide_on_failure(
                    _retryable(exc),
                    # Only asked after a failure: scanning the headers costs every call otherwise.
                    idempotent=is_idempotent(req.method, _has_idempotency_key(req.headers)),
                    replayable=body.replayable,
                    retries=retries,
                    policy=policy,
                    jitter=random.random(),  # noqa: S311
                )
                if not isinstance(failure_decision, Retry):
                    raise _upstream_error(exc, target.host) from None
                retries += 1
                await asyncio.sleep(failure_decision.wait_s)
                continue
            status = resp.status
            ctx.remaining, wait = self._observe(target, resp, req.provider_path)
            verdict = circuit_verdict(status, wait) if status in CIRCUIT_STATUSES else SUCCESS
            if verdict is FAILURE:
                if not blamed:
                    blamed = True
                    circuit.failure(time.monotonic())
            elif verdict is SUCCESS:
                circuit.success()
            decision = (
                decide(
                    status,
                    wait,
                    replayable=body.replayable,
                    retries=retries,
                    can_refresh=target.is_oauth and not refreshed and injection.token is not None,
                    policy=policy,
                )
                if status in DECIDED_STATUSES
                else RETURN
            )
            if decision is REFRESH:
                resp.release()
                refreshed = True
                injection = await self._refresh(target, injection)
                continue
            if isinstance(decision, Retry):
                resp.release()
                retries += 1
                await asyncio.sleep(decision.wait_s)
                continue
            if verdict is NO_VERDICT and trial is not None and not blamed:
                circuit.abandon(trial)  # the trial ends throttled, without a verdict: next may try
            if route is None and (reply := self._reply_now(resp, injection)) is not None:
                return self._finished(target, injection, reply)
            try:
                reply = await self._reply(resp, route, injection)
            except ClientError as exc:  # a small or transformed body broke off before it was in
                resp.release()
                circuit.failure(time.monotonic())
                raise _upstream_error(exc, target.host) from None
            return self._finished(target, injection, reply)

    def _finished(self, target: Any, injection: Any, reply: Reply) -> Reply:
        """The reply as it leaves: a query key the provider echoed masked, usage metered."""
        if injection.echo_guard:
            reply = _without_echoes(reply, injection.echo_guard)
        return reply if target.usage_format is None else self._metered(target, reply)

    async def _still_current(
        self, target: ConnectionTarget, injection: Injection, *, just_refreshed: bool, health_check: bool
    ) -> tuple[ConnectionTarget, Injection]:
        resolver = self.resolver
        current = resolver.cached_target(target.id, target.tenant_id) or await resolver.target(
            target.id, target.tenant_id
        )
        current.ensure_usable(health_check)
        if just_refreshed and current is target:
            return current, injection
        return current, resolver.cached_injection(current) or await resolver.injection(current)

    def _observe(
        self, target: ConnectionTarget, resp: Response, provider_path: str = ""
    ) -> tuple[int | None, float | None]:
        """Provider rate-limit signals of one answer → (lowest remaining, Retry-After seconds).

        Answers that can change a decision (a spent budget, a Retry-After, a 403/429/503) are
        parsed in full, always. Otherwise a connection's snapshot is refreshed at most every
        ``SNAPSHOT_EVERY_S`` (it is the *latest* value that gets stored, flushed once a second);
        the lowest remaining count for the event is read on the way, at any rate.
        """
        relevant, remaining, urgent = provider_limits.scan(resp.raw_headers, resp.status)
        if not relevant:
            return None, None
        now = time.time()
        if not urgent and now - self._parsed_at.get(target.id, 0.0) < SNAPSHOT_EVERY_S:
            return remaining, None
        self._parsed_at[target.id] = now
        if len(self._parsed_at) > 100_000:
            self._parsed_at.clear()
        signals = provider_limits.parse(
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in relevant], now
        )
        if signals.limits:
            self.snapshots.record(target.id, target.tenant_id, target.connector_id, signals.limits, now)
        blocks = provider_limits.blocks_for(
            signals,
            resp.status,
            now,
            default_backoff_s=self.settings.provider_default_backoff_s,
            max_block_s=self.settings.provider_block_max_s,
            method_path=provider_path if target.connector_id in provider_limits.PER_METHOD_LIMITS else None,
        )
        self.budgets.record(target.id, blocks)
        return signals.lowest_remaining, signals.retry_after_s

    async def _refresh(self, target: ConnectionTarget, stale: Injection) -> Injection:
        """One refresh per connection at a time in this process; then re-read the vault. A 401
        that comes back for a token this process already refreshed (its request left before the
        refresh ended) only re-reads the vault."""
        pending = self._refreshing.get(target.id)
        stale_digest = hashlib.sha256((stale.token or "").encode()).hexdigest()
        if pending is None and self._refreshed.get(target.id) == stale_digest:
            return await self.resolver.injection(target)
        if pending is None:
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._refreshing[target.id] = future
            try:
                assert stale.token is not None
                ok = await self.refresher.refresh(target.tenant_id, target.id, stale.token)
                if ok:
                    if len(self._refreshed) >= 100_000:
                        self._refreshed.clear()
                    self._refreshed[target.id] = stale_digest
                future.set_result(ok)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()
                raise
            finally:
                self._refreshing.pop(target.id, None)
        else:
            await asyncio.shield(pending)
        self.resolver.invalidate(target.id, "refresh", credentials_only=True)
        return await self.resolver.injection(target)

    def _metered(self, target: ConnectionTarget, reply: Reply) -> Reply:
        """Token usage read from a successful answer of an AI provider (``api.usage_format``):
        a JSON body at once, a stream as its chunks pass (never held back; docs/adr/0021)."""
        if not 200 <= reply.status < 300 or self.usage is None:
            return reply
        usage_meter = self.usage
        if reply.stream is None:
            found = usage.from_json(reply.body)
            if found is not None:
                usage_meter.record(target.id, target.tenant_id, target.connector_id, found, streamed=False)
            return reply
        chunks = reply.stream

        async def metered() -> AsyncIterator[bytes]:
            meter = usage.StreamMeter()
            try:
                async for chunk in chunks:
                    meter.feed(chunk)
                    yield chunk
            finally:
                found = meter.close()
                if found is not None:  # a caller that left early: what the stream had said so far
                    usage_meter.record(target.id, target.tenant_id, target.connector_id, found, streamed=True)
                close = getattr(chunks, "aclose", None)
                if close is not None:  # closing this closes the provider's stream too, at once
                    with contextlib.suppress(Exception):
                        await close()

        reply.stream = metered()
        return reply

    def _reply_now(self, resp: Response, injection: Injection) -> Reply | None:
        """The answer as it stands when its small body arrived with its head (most answers),
        without a coroutine; else None and :meth:`_reply` streams it."""
        length = resp.content_length
        if length is None or length > SMALL_BODY:
            return None
        body = resp.read_complete()
        if body is None:
            return None
        return Reply(resp.status, response_headers(resp.raw_headers, injection.echo_guard), body)

    async def _reply(self, resp: Response, route: RouteTransform | None, injection: Injection) -> Reply:
        headers = response_headers(resp.raw_headers, injection.echo_guard)
        length = resp.content_length
        if route is not None:
            transformed = await self._transform_response(resp, route, headers, length)
            if transformed is not None:
                return transformed
        if length is not None and length <= SMALL_BODY:
            return Reply(resp.status, headers, await resp.read())

        async def stream() -> AsyncIterator[bytes]:
            try:
                async for chunk in resp.iter_chunks():
                    yield chunk
            finally:
                resp.release()

        return Reply(resp.status, headers, stream=stream(), release=resp.release)

    async def _transform_response(
        self,
        resp: Response,
        route: RouteTransform,
        headers: list[tuple[bytes, bytes]],
        length: int | None,
    ) -> Reply | None:
        t = route.response
        if not (t.set_headers or t.remove_headers or t.touches_body):
            return None
        as_text = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]
        as_text = apply_headers(t, as_text)
        encoded = any(
            n == "content-encoding" and v.strip().lower() not in ("", "identity") for n, v in as_text
        )
        json_body = _editable_json(resp.header("content-type") or "")
        limit = self.settings.transform_max_body_bytes
        # HEAD, 204 and 304 answers have no body to edit (content_length reads 0 for them): their
        # Content-Length, if any, describes another representation and stays as it is.
        editable = t.touches_body and json_body and not encoded
        if editable and length is not None and 0 < length <= limit:
            return _rewritten(resp.status, t, await resp.read(), as_text)
        prefix: list[bytes] = []
        chunks = resp.iter_chunks()
        if editable and length is None:  # chunked or close-delimited: edited if it fits the limit
            size = 0
            async for chunk in chunks:
                prefix.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
            else:
                return _rewritten(resp.status, t, b"".join(prefix), as_text)
        new_headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in as_text]
        if length is not None and length <= SMALL_BODY:
            return Reply(resp.status, new_headers, await resp.read())

        async def stream() -> AsyncIterator[bytes]:
            try:
                for chunk in prefix:  # what was read to find it too large to edit
                    yield chunk
                async for chunk in chunks:
                    yield chunk
            finally:
                resp.release()

        return Reply(resp.status, new_headers, stream=stream(), release=resp.release)


_STREAMING_JSON = (
    "application/x-ndjson",
    "application/stream+json",
    "application/jsonl",
    "application/json-seq",
)


def _editable_json(content_type: str) -> bool:
    """A JSON document (``application/json`` or ``+json``) that body rules may edit; not a
    stream of them (NDJSON, JSON Lines, JSON text sequences), which is relayed as it comes."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _STREAMING_JSON:
        return False
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _rewritten(status: int, t: MessageTransform, raw: bytes, as_text: list[tuple[str, str]]) -> Reply:
    """A JSON answer with the route's body rules applied (unchanged if it does not parse)."""
    try:
        data = orjson.dumps(apply_body(t, orjson.loads(raw)))
    except (orjson.JSONDecodeError, TransformTooExpensive):
        data = raw
    if data is not raw:  # rewritten: strong validators of the original no longer match
        as_text = [(n, v) for n, v in as_text if n not in _BODY_VALIDATORS]
    as_text = [(n, v) for n, v in as_text if n not in ("content-length", "transfer-encoding")]
    as_text.append(("content-length", str(len(data))))
    return Reply(status, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in as_text], data)


@dataclass(frozen=True, slots=True)
class _HeaderBlocks:
    """A connection's own request headers, encoded for the upstream client: its default headers
    plus the injected credential (the usual case), or the credential alone (when the call's
    default headers are decided per call)."""

    target: ConnectionTarget
    injection: Injection
    with_defaults: HeaderBlock
    credential: HeaderBlock
    default_names: frozenset[str]
    propagate: bool  # the call's trace context and X-Forwarded-* go to this provider (opted in)

    @classmethod
    def build(cls, target: ConnectionTarget, injection: Injection, propagate: bool) -> _HeaderBlocks:
        credential = [injection.header] if injection.header is not None else []
        return cls(
            target,
            injection,
            HeaderBlock([*target.default_headers, *credential]),
            HeaderBlock(credential),
            frozenset(n for n, _ in target.default_headers),
            propagate,
        )


def _without_echoes(reply: Reply, secrets: tuple[bytes, ...]) -> Reply:
    """The answer with a query key it echoes in a text body masked (same length)."""
    content_type = content_encoding = None
    for name, value in reply.headers:
        if name == b"content-type":
            content_type = value
        elif name == b"content-encoding":
            content_encoding = value
    if not body_scrub.scrubbable(content_type, content_encoding):
        return reply
    if reply.stream is not None:
        reply.stream = body_scrub.masked_stream(reply.stream, secrets)
    elif reply.body:
        reply.body = body_scrub.mask(reply.body, secrets)
    return reply


def _names_any(headers: list[tuple[str, str]], names: frozenset[str]) -> bool:
    for name, _ in headers:  # noqa: SIM110 - a loop, not a generator: every call runs this
        if name in names:
            return True
    return False


def _only_wildcard_accept(headers: list[tuple[str, str]], names: frozenset[str]) -> bool:
    """Whether every caller header the connection has a default for is ``Accept: */*``."""
    return all(n == "accept" and v.strip() == "*/*" for n, v in headers if n in names)


def _without_accept(
    headers: list[tuple[str, str]], req: ProxyRequest, propagate: bool
) -> list[tuple[str, str]]:
    kept = [(n, v) for n, v in headers if n != "accept"]
    if propagate:
        _add_context_headers(kept, req)
    return kept


def _add_context_headers(headers: list[tuple[str, str]], req: ProxyRequest) -> None:
    """For an opted-in connector only: ``X-Forwarded-*`` and this call's ``traceparent``."""
    headers.extend(forwarded_headers(req.client_ip, req.scheme, req.host))
    if req.traceparent:
        headers.append(("traceparent", req.traceparent))


def _has_idempotency_key(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(n == b"idempotency-key" for n, _ in headers)


def _retryable(exc: BaseException) -> bool:
    """Connection failures (refused, reset, closed, connect timeout); never a read timeout, after
    which the provider may have acted on the request, nor a malformed answer."""
    return isinstance(exc, ConnectError | ConnectTimeout | Disconnected)


def _raise_if_not_the_providers(exc: ClientError, body: RequestBody, host: str) -> None:
    """Failures that are the caller's (its body) or this gateway's (its pool), found while
    calling: answered as such, never retried nor counted against the provider."""
    if body.too_large:
        raise BodyTooLarge("the request body is larger than the gateway accepts") from None
    if body.caller_gone:  # the caller stopped sending: not the provider's failure
        raise ClientGone("the client went away while sending the body") from None
    if isinstance(exc, BodyLengthMismatch):  # the caller's, too
        raise BodyLengthInvalid(str(exc)) from None
    if body.stalled:
        raise RequestBodyTimeout("the client stopped sending the request body") from None
    if isinstance(exc, PoolBusy):  # our own congestion, not the provider's
        raise UpstreamPoolBusy(
            f"every connection to {host} is busy; try again shortly",
            details={"host": host},
            headers={"Retry-After": "1"},
        ) from None


def _upstream_error(exc: BaseException, host: str) -> Exception:
    if isinstance(exc, ConnectTimeout):
        return UpstreamTimeout(
            f"{host} did not accept a connection in time", details={"host": host, "phase": "connect"}
        )
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"{host} did not answer in time", details={"host": host, "phase": "read"})
    if isinstance(exc, HeadersTooLarge):
        return UpstreamHeadersTooLarge(
            f"{host} answered with more headers than the gateway accepts", details={"host": host}
        )
    if isinstance(exc, ProtocolError):
        return UpstreamError(f"{host} answered something that is not HTTP/1.1", details={"host": host})
    return UpstreamUnreachable(f"{host} could not be reached ({type(exc).__name__})", details={"host": host})
