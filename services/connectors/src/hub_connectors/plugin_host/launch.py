"""How the service starts plugin-host processes (workers, discovery): what they inherit."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# The only variables a plugin process inherits: none of them can carry a secret.
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR")


def scrubbed_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    return {k: source[k] for k in INHERITED_ENV if k in source}


def import_path() -> list[str]:
    """The service's own import path minus its working directory (which may hold the stack's
    data and keys): a plugin process finds the same plugins the service would."""
    cwd = os.getcwd()
    return [p for p in sys.path if p and os.path.abspath(p) != cwd]


def readable_paths(extra: list[str] | None = None) -> list[str]:
    """What a sandboxed plugin process may read: the import path and the Python installation."""
    return [*import_path(), sys.prefix, sys.base_prefix, *(extra or [])]


def command(module: str, spec: str) -> list[str]:
    # -I: no PYTHON* variables, no user site, not the working directory on the path.
    return [sys.executable, "-I", "-m", module, spec]
