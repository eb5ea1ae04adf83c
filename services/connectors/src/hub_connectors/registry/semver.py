"""Semantic version ordering (semver.org §11), enough to compare ``min_hub_version``."""

from __future__ import annotations

from hub_connector_sdk.models import SEMVER


def _prerelease_key(pre: str | None) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    if pre is None:
        return (1, ())  # a release sorts after all of its pre-releases
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (0, parts)


def version_key(version: str) -> tuple[int, int, int, tuple[int, tuple[tuple[int, int | str], ...]]]:
    m = SEMVER.match(version)
    if m is None:
        raise ValueError(f"{version!r} is not a semantic version")
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), _prerelease_key(m.group(4))


def at_most(version: str, other: str) -> bool:
    return version_key(version) <= version_key(other)
