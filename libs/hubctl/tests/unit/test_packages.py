"""What `hubctl stack up` installs from apt: PostgreSQL, Redis, and Chromium with its driver for
the UI's browser tests (docs/adr/0029) — only what is missing."""

from pathlib import Path

import pytest

from hubctl.stack import packages

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ({"chromium", "chromedriver"}, []),
        (set(), ["chromium", "chromium-driver"]),
        ({"chromium"}, ["chromium-driver"]),
        ({"chromium-browser", "chromedriver"}, []),
    ],
)
def test_chromium_and_its_driver_are_installed_when_missing(monkeypatch, present, missing):
    monkeypatch.setattr(packages, "newest_pg_bin", lambda: Path("/usr/lib/postgresql/16/bin"))
    monkeypatch.setattr(packages, "redis_server", lambda: "/usr/bin/redis-server")
    monkeypatch.setattr(
        packages.shutil, "which", lambda name: f"/usr/bin/{name}" if name in present else None
    )
    assert packages._missing() == missing
