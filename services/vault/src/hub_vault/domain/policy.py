"""Per-service access policy: which operations, on which credential keys, each caller may use.

Loaded from TOML (``policies.toml`` in this package, or ``HUB_VAULT_POLICY_FILE``)::

    [[services.gateway.rules]]
    operations = ["credential.read"]
    keys = ["access_token", "api_key", "api_key.*"]

Operations and keys are case-sensitive shell globs. Everything not allowed is denied, and a
service that is not listed can do nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from hub_vault.domain.operations import KEYLESS, Operation


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    operations: tuple[str, ...]
    keys: tuple[str, ...]

    def allows(self, operation: Operation, key: str | None) -> bool:
        if not any(fnmatchcase(operation.value, pattern) for pattern in self.operations):
            return False
        if operation in KEYLESS:
            return True
        return key is not None and any(fnmatchcase(key, pattern) for pattern in self.keys)


@dataclass(frozen=True, eq=False)  # identity hash: loaded once, never mutated, cacheable
class Policy:
    services: dict[str, tuple[Rule, ...]]

    def allows(self, service_id: str, operation: Operation, key: str | None = None) -> bool:
        return _cached_allows(self, service_id, operation, key)


@lru_cache(maxsize=4096)
def _cached_allows(policy: Policy, service_id: str, operation: Operation, key: str | None) -> bool:
    # Hot path: the same (service, operation, key) triples repeat all day.
    return any(rule.allows(operation, key) for rule in policy.services.get(service_id, ()))


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def parse_policy(text: str) -> Policy:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy is not valid TOML: {exc}") from None
    services = doc.get("services")
    if not isinstance(services, dict):
        raise PolicyError("policy needs a [services.<id>] table per calling service")
    known = {op.value for op in Operation}
    parsed: dict[str, tuple[Rule, ...]] = {}
    for service_id, body in services.items():
        rules = body.get("rules", []) if isinstance(body, dict) else None
        if not isinstance(rules, list):
            raise PolicyError(f"services.{service_id}.rules must be an array of tables")
        built: list[Rule] = []
        for i, rule in enumerate(rules):
            where = f"services.{service_id}.rules[{i}]"
            if not isinstance(rule, dict):
                raise PolicyError(f"{where} must be a table")
            operations = _strings(rule.get("operations"), f"{where}.operations")
            if not any(fnmatchcase(op, pattern) for pattern in operations for op in known):
                raise PolicyError(f"{where}.operations matches no known operation")
            keys = _strings(rule.get("keys", []), f"{where}.keys") if "keys" in rule else ()
            built.append(Rule(operations, keys))
        parsed[service_id] = tuple(built)
    return Policy(parsed)
