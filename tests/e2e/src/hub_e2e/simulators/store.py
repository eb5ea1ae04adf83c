"""In-memory authorization-server state: codes, token families, rotation and reuse detection.

A *family* is everything issued from one authorization grant (one code exchange): its access
tokens and its chain of refresh tokens. Revoking the family (code reuse, refresh-token reuse,
revocation of a refresh token) kills all of them, as RFC 6749 §4.1.2/§10.4, RFC 9700 §4.14.2 and
RFC 7009 §2.1 describe. All methods are synchronous; the HTTP layer calls them under one
``asyncio.Lock`` so concurrent requests see consistent family state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from hub_e2e.simulators.config import Client
from hub_e2e.simulators.crypto import is_valid_verifier, new_token, verifier_matches
from hub_e2e.simulators.errors import OAuthError, invalid_grant, invalid_request
from hub_e2e.simulators.stats import Stats

RefreshState = Literal["active", "rotated", "revoked"]


@dataclass
class AuthCode:
    value: str
    client_id: str
    redirect_uri: str
    redirect_uri_sent: bool  # RFC 6749 §4.1.3: only then must the token request repeat it
    scopes: dict[str, tuple[str, ...]]  # token kind -> scopes (Slack: "bot" and "user")
    code_challenge: str | None
    subject: str
    expires_at: float
    used: bool = False
    family_ids: list[str] = field(default_factory=list)


@dataclass
class Family:
    id: str
    client_id: str
    subject: str
    kind: str
    scope: tuple[str, ...]
    refresh_token: str | None = None  # the one currently valid
    refresh_tokens: list[str] = field(default_factory=list)  # every one ever issued, in order
    access_tokens: list[str] = field(default_factory=list)
    revoked_reason: str | None = None
    refreshes: int = 0


@dataclass
class AccessToken:
    value: str
    client_id: str
    subject: str
    kind: str
    scope: tuple[str, ...]
    family_id: str | None
    expires_at: float | None
    revoked: bool = False


@dataclass
class RefreshToken:
    value: str
    family_id: str
    state: RefreshState = "active"


@dataclass
class Issued:
    """One access token (plus refresh token) as handed out by a grant."""

    access_token: str
    refresh_token: str | None
    expires_in: int | None
    scope: tuple[str, ...]
    kind: str
    subject: str
    client_id: str
    family_id: str | None


@dataclass
class TokenPolicy:
    """How the current flavor and settings want tokens minted."""

    access_ttl: float | None
    issue_refresh: bool
    rotate: bool
    revoke_old_access_on_refresh: bool
    access_prefix: str = ""
    refresh_prefix: str = ""


class Store:
    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.reset_state()

    def reset_state(self) -> None:
        """Forget codes, tokens and counters; registered clients stay."""
        self.codes: dict[str, AuthCode] = {}
        self.families: dict[str, Family] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.stats = Stats()

    # -- authorization codes ------------------------------------------------------------------

    def issue_code(
        self,
        *,
        client: Client,
        redirect_uri: str,
        redirect_uri_sent: bool,
        scopes: dict[str, tuple[str, ...]],
        code_challenge: str | None,
        subject: str,
        ttl: float,
    ) -> AuthCode:
        code = AuthCode(
            new_token(),
            client.client_id,
            redirect_uri,
            redirect_uri_sent,
            scopes,
            code_challenge,
            subject,
            time.monotonic() + ttl,
        )
        self.codes[code.value] = code
        return code

    def redeem_code(
        self, client: Client, value: str | None, redirect_uri: str | None, verifier: str | None
    ) -> AuthCode:
        """Check a presented code; it is spent on the first presentation by its client (even a
        failing one) so a verifier or redirect URI cannot be brute-forced against it."""
        if value is None:
            raise invalid_request("code is required", about="code")
        code = self.codes.get(value)
        if code is None:
            raise invalid_grant("unknown authorization code", about="code")
        if code.client_id != client.client_id:
            # RFC 6749 §4.1.3: the code must have been issued to the authenticated client.
            raise invalid_grant("authorization code was issued to another client", about="code")
        if code.used:
            # RFC 6749 §4.1.2: deny, and revoke every token already issued from this code.
            self.stats.code_reuse_detections += 1
            for family_id in code.family_ids:
                self.revoke_family(family_id, "authorization code reused")
            raise invalid_grant(
                "authorization code already used; tokens issued from it are revoked", about="code"
            )
        code.used = True
        if time.monotonic() >= code.expires_at:
            raise invalid_grant("authorization code expired", about="code")
        # RFC 6749 §4.1.3: redirect_uri required and identical if it was in the authorization request.
        if redirect_uri is None and code.redirect_uri_sent:
            raise invalid_grant("redirect_uri is required: it was sent to /authorize", about="redirect_uri")
        if redirect_uri is not None and redirect_uri != code.redirect_uri:
            raise invalid_grant("redirect_uri differs from the authorization request", about="redirect_uri")
        self._check_verifier(code, verifier)
        return code

    @staticmethod
    def _check_verifier(code: AuthCode, verifier: str | None) -> None:
        if code.code_challenge is None:
            # RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
            if verifier is not None:
                raise invalid_grant("code_verifier sent but no code_challenge was", about="code_verifier")
            return
        if verifier is None:
            raise invalid_grant("code_verifier is required (RFC 7636 §4.5)", about="code_verifier")
        if not is_valid_verifier(verifier):
            raise invalid_request("code_verifier is malformed (RFC 7636 §4.1)", about="code_verifier")
        if not verifier_matches(verifier, code.code_challenge):
            raise invalid_grant(
                "code_verifier does not match the code_challenge (RFC 7636 §4.6)", about="code_verifier"
            )

    # -- minting ------------------------------------------------------------------------------

    def _mint_access(
        self,
        client_id: str,
        subject: str,
        kind: str,
        scope: tuple[str, ...],
        family: Family | None,
        policy: TokenPolicy,
    ) -> AccessToken:
        expires_at = None if policy.access_ttl is None else time.monotonic() + policy.access_ttl
        token = AccessToken(
            new_token(policy.access_prefix),
            client_id,
            subject,
            kind,
            scope,
            family.id if family else None,
            expires_at,
        )
        self.access_tokens[token.value] = token
        if family is not None:
            family.access_tokens.append(token.value)
        return token

    def _mint_refresh(self, family: Family, policy: TokenPolicy) -> str:
        value = new_token(policy.refresh_prefix)
        self.refresh_tokens[value] = RefreshToken(value, family.id)
        family.refresh_token = value
        family.refresh_tokens.append(value)
        return value

    @staticmethod
    def _issued(token: AccessToken, refresh: str | None, policy: TokenPolicy) -> Issued:
        expires_in = None if policy.access_ttl is None else int(policy.access_ttl)
        return Issued(
            token.value,
            refresh,
            expires_in,
            token.scope,
            token.kind,
            token.subject,
            token.client_id,
            token.family_id,
        )

    def issue_from_code(self, code: AuthCode, kind: str, policy: TokenPolicy) -> Issued:
        family = Family(new_token("fam_", 9), code.client_id, code.subject, kind, code.scopes[kind])
        self.families[family.id] = family
        code.family_ids.append(family.id)
        access = self._mint_access(code.client_id, code.subject, kind, family.scope, family, policy)
        refresh = self._mint_refresh(family, policy) if policy.issue_refresh else None
        return self._issued(access, refresh, policy)

    def issue_client_credentials(self, client: Client, scope: tuple[str, ...], policy: TokenPolicy) -> Issued:
        # RFC 6749 §4.4.3: no refresh token for the client credentials grant.
        access = self._mint_access(
            client.client_id, f"client:{client.client_id}", "client", scope, None, policy
        )
        return self._issued(access, None, policy)

    # -- refresh ------------------------------------------------------------------------------

    def refresh(
        self,
        client: Client,
        value: str | None,
        requested: tuple[str, ...] | None,
        policy_for: Callable[[Family], TokenPolicy],
    ) -> Issued:
        if value is None:
            raise invalid_request("refresh_token is required", about="refresh_token")
        record = self.refresh_tokens.get(value)
        if record is None:
            raise invalid_grant("unknown refresh token", about="refresh_token")
        family = self.families[record.family_id]
        if family.client_id != client.client_id:
            # RFC 6749 §6: the refresh token must have been issued to the authenticated client.
            raise invalid_grant("refresh token was issued to another client", about="refresh_token")
        if record.state == "rotated":
            # RFC 9700 §4.14.2: a rotated-out refresh token came back, so one of the two
            # presenters is not legitimate; revoke the whole family.
            self.stats.refresh_reuse_detections += 1
            self.revoke_family(family.id, "refresh token reused")
            raise invalid_grant(
                "refresh token already used; the token family is revoked", about="refresh_token"
            )
        if record.state == "revoked" or family.revoked_reason is not None:
            raise invalid_grant("refresh token revoked", about="refresh_token")
        policy = policy_for(family)
        scope = family.scope
        if requested is not None:
            # RFC 6749 §6: the requested scope must not exceed the originally granted one.
            if not set(requested) <= set(family.scope):
                raise OAuthError("invalid_scope", "requested scope exceeds the granted scope", about="scope")
            scope = requested
        if policy.revoke_old_access_on_refresh:
            for old in family.access_tokens:
                self.access_tokens[old].revoked = True
        access = self._mint_access(family.client_id, family.subject, family.kind, scope, family, policy)
        new_refresh = None
        if policy.rotate:
            record.state = "rotated"
            new_refresh = self._mint_refresh(family, policy)
        family.refreshes += 1
        self.stats.refreshes += 1
        self.stats.refreshes_by_family[family.id] += 1
        return self._issued(access, new_refresh, policy)

    # -- revocation and lookup ----------------------------------------------------------------

    def revoke_family(self, family_id: str, reason: str) -> None:
        family = self.families[family_id]
        if family.revoked_reason is None:
            family.revoked_reason = reason
            self.stats.families_revoked += 1
        for value in family.access_tokens:
            self.access_tokens[value].revoked = True
        for value in family.refresh_tokens:
            self.refresh_tokens[value].state = "revoked"
        family.refresh_token = None

    def owner_of(self, value: str) -> str | None:
        """The client a token was issued to, or None when the token is unknown."""
        if (access := self.access_tokens.get(value)) is not None:
            return access.client_id
        if (record := self.refresh_tokens.get(value)) is not None:
            return self.families[record.family_id].client_id
        return None

    def revoke(self, value: str, *, whole_grant: bool = False) -> bool:
        """Revoke one token. A refresh token takes its family with it (RFC 7009 §2.1);
        ``whole_grant`` does the same for an access token (providers whose revoke call ends
        the authorization). Returns False when the token is unknown."""
        if (access := self.access_tokens.get(value)) is not None:
            if whole_grant and access.family_id is not None:
                self.revoke_family(access.family_id, "revoked by the client")
            access.revoked = True
            self.stats.tokens_revoked += 1
            return True
        if (record := self.refresh_tokens.get(value)) is not None:
            self.revoke_family(record.family_id, "refresh token revoked by the client")
            self.stats.tokens_revoked += 1
            return True
        return False

    def access_status(self, value: str | None) -> tuple[AccessToken | None, str]:
        """``(token, "valid")`` or ``(None, "missing" | "unknown" | "revoked" | "expired")``."""
        if not value:
            return None, "missing"
        token = self.access_tokens.get(value)
        if token is None:
            return None, "unknown"
        if token.revoked:
            return None, "revoked"
        if token.expires_at is not None and time.monotonic() >= token.expires_at:
            return None, "expired"
        return token, "valid"

    def valid_access_token(self, value: str | None) -> AccessToken | None:
        return self.access_status(value)[0]

    def expire(self, value: str) -> bool:
        """Admin helper: make an access token (or all of a family's) expire now."""
        family = self.families.get(value)
        values = family.access_tokens if family else [value]
        found = False
        for v in values:
            if (token := self.access_tokens.get(v)) is not None:
                token.expires_at = time.monotonic()
                found = True
        return found

    def introspect(self, value: str) -> dict[str, Any]:
        now = time.monotonic()
        if (access := self.access_tokens.get(value)) is not None:
            remaining = None if access.expires_at is None else max(0.0, access.expires_at - now)
            return {
                "active": self.valid_access_token(value) is not None,
                "token_type": "access_token",
                "client_id": access.client_id,
                "family_id": access.family_id,
                "kind": access.kind,
                "scope": list(access.scope),
                "sub": access.subject,
                "revoked": access.revoked,
                "expires_in": remaining,
            }
        if (record := self.refresh_tokens.get(value)) is not None:
            family = self.families[record.family_id]
            return {
                "active": record.state == "active",
                "token_type": "refresh_token",
                "client_id": family.client_id,
                "family_id": family.id,
                "kind": family.kind,
                "scope": list(family.scope),
                "sub": family.subject,
                "state": record.state,
            }
        return {"active": False}

    def family_view(self, family: Family) -> dict[str, Any]:
        return {
            "id": family.id,
            "client_id": family.client_id,
            "sub": family.subject,
            "kind": family.kind,
            "scope": list(family.scope),
            "revoked": family.revoked_reason is not None,
            "revoked_reason": family.revoked_reason,
            "refreshes": family.refreshes,
            "access_tokens": len(family.access_tokens),
        }
