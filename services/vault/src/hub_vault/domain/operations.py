"""Names of the operations a caller can perform: used by the policy, the audit and metrics."""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    CREDENTIAL_READ = "credential.read"
    CREDENTIAL_STORE = "credential.store"
    CREDENTIAL_DELETE = "credential.delete"
    CREDENTIAL_LIST = "credential.list"
    CREDENTIAL_DELETE_ALL = "credential.delete_all"
    SECRET_GENERATE = "secret.generate"
    HMAC_SIGN = "hmac.sign"
    HMAC_VERIFY = "hmac.verify"
    KEYS_LIST = "admin.keys.list"
    KEYS_ROTATE = "admin.keys.rotate"
    KEYS_RETIRE = "admin.keys.retire"
    REWRAP_START = "admin.rewrap.start"
    REWRAP_READ = "admin.rewrap.read"
    REWRAP_BATCH = "admin.rewrap.batch"  # audited per batch, never called directly
    REWRAP_FINISH = "admin.rewrap.finish"  # audited when a job ends, never called directly


# Operations on a whole connection or the keyring: the policy checks the operation only.
KEYLESS = frozenset(
    {
        Operation.CREDENTIAL_LIST,
        Operation.CREDENTIAL_DELETE_ALL,
        Operation.KEYS_LIST,
        Operation.KEYS_ROTATE,
        Operation.KEYS_RETIRE,
        Operation.REWRAP_START,
        Operation.REWRAP_READ,
        Operation.REWRAP_BATCH,
        Operation.REWRAP_FINISH,
    }
)


class Outcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    UNAUTHENTICATED = "unauthenticated"  # no service token, or one that does not verify
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID = "invalid"
    DECRYPTION_FAILED = "decryption_failed"
    ERROR = "error"
