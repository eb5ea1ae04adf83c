"""Vault error codes (rendered as ``{"error": {"code", ...}}``). None carries a secret value."""

from __future__ import annotations

from hub_common.errors import ConfigurationError, Conflict, Forbidden, HubError, NotFound, PayloadTooLarge


class CredentialNotFound(NotFound):
    code = "credential_not_found"

    def __init__(self) -> None:
        super().__init__("no such credential")


class CredentialExists(Conflict):
    code = "credential_exists"

    def __init__(self) -> None:
        super().__init__("the credential already exists; pass replace=true to overwrite it")


class VersionConflict(Conflict):
    code = "version_conflict"

    def __init__(self) -> None:
        super().__init__("the credential changed since the expected version")


class PolicyDenied(Forbidden):
    code = "policy_denied"

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"the calling service may not perform {operation} here", details={"operation": operation}
        )


class ValueTooLarge(PayloadTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"values are limited to {limit} bytes", details={"limit_bytes": limit})


class DecryptionFailed(HubError):
    """One code for every integrity failure: which part failed is nobody's business."""

    status_code = 500
    code = "decryption_failed"

    def __init__(self) -> None:
        super().__init__("the stored value could not be decrypted")


class KeyVersionUnavailable(HubError):
    status_code = 503
    code = "key_version_unavailable"

    def __init__(self, version: int) -> None:
        super().__init__(
            f"key version {version} is not in this vault's keyring", details={"key_version": version}
        )


class AuditUnavailable(HubError):
    """The audit write failed, so the operation did not happen."""

    status_code = 503
    code = "audit_unavailable"

    def __init__(self) -> None:
        super().__init__("the audit record could not be written; the operation was not performed")


class KeyVersionNotFound(NotFound):
    code = "key_version_not_found"

    def __init__(self, version: int) -> None:
        super().__init__(f"no key version {version}", details={"key_version": version})


class KeyVersionInUse(Conflict):
    code = "key_version_in_use"

    def __init__(self, version: int, values: int) -> None:
        super().__init__(
            f"key version {version} still protects {values} value(s); rewrap first",
            details={"key_version": version, "values": values},
        )


class KeyVersionIsPrimary(Conflict):
    code = "key_version_is_primary"

    def __init__(self, version: int) -> None:
        super().__init__(
            f"key version {version} is the primary; rotate first", details={"key_version": version}
        )


class KeyringReadOnly(Conflict):
    code = "keyring_read_only"

    def __init__(self) -> None:
        super().__init__(
            "the keyring is not a writable file (environment variable or mounted "
            "secret): add the new version there; every replica picks it up"
        )


class RotationRaced(Conflict):
    code = "rotation_conflict"

    def __init__(self, planned: int) -> None:
        super().__init__(
            "another rotation changed the keyring meanwhile; list the versions and try again",
            details={"key_version": planned},
        )


class KeyringMismatch(ConfigurationError):
    """A keyring whose key for a known version is not the one the database recorded."""

    def __init__(self, key_checks: dict[int, str]) -> None:
        self.key_checks = key_checks  # the database's, for the versions that differ
        self.versions = sorted(key_checks)
        super().__init__(
            f"keyring version {self.versions[0]} is not the key this database was encrypted "
            "with (key check differs); restore the original keyring"
        )


class PrimaryRetired(HubError):
    status_code = 503
    code = "primary_key_retired"

    def __init__(self, version: int) -> None:
        super().__init__(
            f"the keyring's primary version {version} is retired; update the keyring",
            details={"key_version": version},
        )


class RewrapRunning(Conflict):
    code = "rewrap_running"

    def __init__(self, job_id: str) -> None:
        super().__init__("a rewrap job is already running", details={"job_id": job_id})


class RewrapJobNotFound(NotFound):
    code = "rewrap_job_not_found"

    def __init__(self) -> None:
        super().__init__("no such rewrap job")


class KeyVersionUnregistered(HubError):
    """The primary's metadata row is missing; retried once after registering, then reported."""

    status_code = 503
    code = "key_version_unregistered"

    def __init__(self, version: int) -> None:
        super().__init__(
            f"key version {version} is not registered yet; retry", details={"key_version": version}
        )
