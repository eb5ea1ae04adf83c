"""A circuit breaker per tenant and provider endpoint (its base URL: host, port and the
connection's base path), per process: each replica learns on its own.

Per tenant (ADR 0013): what opens a circuit — 502/504s, timeouts, a 503 without Retry-After —
can be caused by one tenant's own calls (heavy queries, a slow report), and a circuit shared by
every tenant would let one of them pause everyone's calls to the same provider. A provider that
is down for all fails every tenant's first few calls instead: the price of isolation is
``failure_threshold`` calls per tenant per ``open_s``, not one.

closed → ``failure_threshold`` consecutive failures (connect errors, timeouts, 502/503/504) →
open: calls are refused at once (``circuit_open``) for ``open_s`` → half-open: one trial call
goes out; success closes the circuit, failure opens it again for another ``open_s``. A trial
that ends without a verdict (the caller went away, its request was refused) is abandoned, and a
trial not heard of for ``open_s`` is presumed lost: either way the next call may try.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(slots=True)
class Circuit:
    failure_threshold: int
    open_s: float
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    trial_in_flight: bool = False
    trial_started_at: float = 0.0

    def allow(self, now: float) -> bool:
        if self.state == CLOSED:
            return True
        if self.state == OPEN and now - self.opened_at >= self.open_s:
            self.state = HALF_OPEN
            self.trial_in_flight = False
        if self.state == HALF_OPEN and (
            not self.trial_in_flight or now - self.trial_started_at >= self.open_s
        ):
            self.trial_in_flight, self.trial_started_at = True, now
            return True
        return False

    @property
    def on_trial(self) -> bool:
        return self.state == HALF_OPEN

    def abandon(self, trial_started_at: float) -> None:
        """The trial call that started at ``trial_started_at`` ended without telling whether the
        endpoint works (a trial presumed lost and replaced by a newer one frees nothing)."""
        if self.state == HALF_OPEN and self.trial_started_at == trial_started_at:
            self.trial_in_flight = False

    def retry_after(self, now: float) -> float:
        return max(0.0, self.opened_at + self.open_s - now)

    def success(self) -> None:
        self.state, self.failures, self.trial_in_flight = CLOSED, 0, False

    def failure(self, now: float) -> bool:
        """Record a failure; True when this one opened the circuit."""
        self.failures += 1
        self.trial_in_flight = False
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.failure_threshold):
            self.state, self.opened_at = OPEN, now
            return True
        return False


class CircuitBoard:
    """One circuit per key (a tenant and an endpoint: ``ConnectionTarget.circuit_key``), created
    on first use; bounded, closed circuits are forgotten first."""

    def __init__(self, failure_threshold: int, open_s: float, max_hosts: int = 100_000) -> None:
        self.failure_threshold = failure_threshold
        self.open_s = open_s
        self.max_hosts = max_hosts
        self._circuits: dict[Hashable, Circuit] = {}

    def get(self, host: Hashable) -> Circuit:
        circuit = self._circuits.get(host)
        if circuit is None:
            if len(self._circuits) >= self.max_hosts:
                # Forget closed circuits first: they carry no state worth keeping.
                for name in [h for h, c in self._circuits.items() if c.state == CLOSED][
                    : self.max_hosts // 10
                ]:
                    del self._circuits[name]
            circuit = self._circuits[host] = Circuit(self.failure_threshold, self.open_s)
        return circuit

    def states(self) -> dict[Hashable, str]:
        return {h: c.state for h, c in self._circuits.items()}
