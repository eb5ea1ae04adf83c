"""Where the providers' published API descriptions are, for contract tests.

The descriptions are data owned elsewhere and never copied into a repository: ``HUB_SPECS_DIR``
names the folder, else ``../shared/specs`` beside the repository's root (where CI puts it). A
test that needs one calls :func:`provider_spec`, which skips the test with the reason when the
folder is absent.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from hub_connector_sdk.testkit.openapi import OpenApiSpec

SPECS_ENV = "HUB_SPECS_DIR"
_ROOT_MARKERS = (".git", "uv.lock")


def find_repo_root(start: Path | None = None) -> Path | None:
    """The nearest folder above ``start`` (default: the working directory) holding .git or uv.lock."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return None


def find_specs_dir() -> Path | None:
    """``$HUB_SPECS_DIR``, else ``<repo root>/../shared/specs``; None when neither exists."""
    configured = os.environ.get(SPECS_ENV)
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_dir() else None
    for start in (None, Path(__file__).parent):
        root = find_repo_root(start)
        if root is not None and (root.parent / "shared" / "specs").is_dir():
            return root.parent / "shared" / "specs"
    return None


def _missing_reason(name: str) -> str:
    configured = os.environ.get(SPECS_ENV)
    where = (
        f"{SPECS_ENV}={configured}"
        if configured
        else f"{SPECS_ENV} unset and no ../shared/specs beside the repo"
    )
    return f"provider API description {name!r} not available ({where}); contract check skipped"


def spec_file(name: str) -> Path | None:
    folder = find_specs_dir()
    if folder is None or not (folder / name).is_file():
        return None
    return folder / name


@functools.cache
def _load(path: Path, path_prefix: str) -> OpenApiSpec:
    return OpenApiSpec.load(path, path_prefix=path_prefix)


def provider_spec(name: str, *, path_prefix: str = "") -> OpenApiSpec:
    """A loaded description (cached per process); skips the calling pytest test when absent."""
    path = spec_file(name)
    if path is None:
        import pytest  # only a test calls this; the SDK itself does not need pytest

        pytest.skip(_missing_reason(name))
    return _load(path, path_prefix)
