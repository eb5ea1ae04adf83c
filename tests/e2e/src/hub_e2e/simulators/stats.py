"""Counters the tests read through ``GET /_sim/stats``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    authorize_calls: int = 0
    authorize_approved: int = 0
    authorize_denied: int = 0  # the simulated user said no (access_denied)
    authorize_rejected: int = 0  # invalid requests (error page or error redirect)
    token_calls: Counter[str] = field(default_factory=Counter)  # by grant_type, as received
    token_successes: Counter[str] = field(default_factory=Counter)
    token_errors: Counter[str] = field(default_factory=Counter)  # by canonical RFC 6749 error code
    refreshes: int = 0  # successful refresh_token grants
    refreshes_by_family: Counter[str] = field(default_factory=Counter)
    refresh_reuse_detections: int = 0
    code_reuse_detections: int = 0
    revocation_calls: int = 0
    tokens_revoked: int = 0
    families_revoked: int = 0
    identity_calls: int = 0
    identity_rejected: int = 0
    faults_injected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "authorize": {
                "calls": self.authorize_calls,
                "approved": self.authorize_approved,
                "denied": self.authorize_denied,
                "rejected": self.authorize_rejected,
            },
            "token_calls": dict(self.token_calls),
            "token_calls_total": sum(self.token_calls.values()),
            "token_successes": dict(self.token_successes),
            "token_errors": dict(self.token_errors),
            "refreshes": self.refreshes,
            "refreshes_by_family": dict(self.refreshes_by_family),
            "reuse_detections": {
                "refresh_token": self.refresh_reuse_detections,
                "authorization_code": self.code_reuse_detections,
            },
            "revocations": {
                "calls": self.revocation_calls,
                "tokens_revoked": self.tokens_revoked,
                "families_revoked": self.families_revoked,
            },
            "identity": {"calls": self.identity_calls, "rejected": self.identity_rejected},
            "faults_injected": self.faults_injected,
        }
