"""Semantic version ordering (semver.org §11), enough to compare ``min_hub_version``.

Shared by the hub's registry and the test kit, so both refuse the same connectors.
"""

from __future__ import annotations

from hub_connector_sdk.models import SEMVER

# The hub release this SDK release is tested with: the test kit refuses a connector whose
# min_hub_version is newer, as that hub would.
HUB_VERSION = "0.1.0"

VersionKey = tuple[int, int, int, tuple[int, tuple[tuple[int, int | str], ...]]]


def _prerelease_key(pre: str | None) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    if pre is None:
        return (1, ())  # a release sorts after all of its pre-releases
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (0, parts)


def version_key(version: str) -> VersionKey:
    m = SEMVER.match(version)
    if m is None:
        raise ValueError(f"{version!r} is not a semantic version")
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), _prerelease_key(m.group(4))


def at_most(version: str, other: str) -> bool:
    return version_key(version) <= version_key(other)
