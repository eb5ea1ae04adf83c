"""Every service has the same shape (README "Each service has the same shape"; docs/adr/0027).

A sixth service, or a service that loses a layer, fails here before anyone copies it.
"""

from __future__ import annotations

import importlib
import inspect
import tomllib
from pathlib import Path

import pytest

from hub_common.composition import CompositionRoot

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
PACKAGES = ("api", "domain", "services", "repositories", "consumers", "adapters")
MODULES = ("inject.py", "cli.py", "app.py", "config.py")


def _source(service: str) -> Path:
    return ROOT / "services" / service / "src" / f"hub_{service}"


def test_the_five_services_are_found() -> None:
    assert SERVICES == ["connectors", "gateway", "oauth", "vault", "webhooks"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_directories_and_modules(service: str) -> None:
    src = _source(service)
    missing = [p for p in PACKAGES if not (src / p / "__init__.py").is_file()]
    missing += [m for m in MODULES if not (src / m).is_file()]
    if not any((src / "migrations").glob("*.sql")):
        missing.append("migrations/*.sql")
    assert missing == [], f"hub_{service} lacks {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_composition_root_has_the_one_shape(service: str) -> None:
    inject = importlib.import_module(f"hub_{service}.inject")
    container = inject.Container
    assert issubclass(container, CompositionRoot)
    assert "_open" in vars(container), "the root builds its graph in _open(stack)"
    # start/stop/__aenter__ come from CompositionRoot only: no hand-ordered stop().
    for name in ("start", "stop", "__aenter__", "__aexit__"):
        assert name not in vars(container), f"hub_{service}.inject.Container overrides {name}"
    assert callable(getattr(container, "readiness", None))
    assert next(iter(inspect.signature(container).parameters)) == "settings"


@pytest.mark.parametrize("service", SERVICES)
def test_every_app_factory_takes_the_same_root(service: str) -> None:
    app = importlib.import_module(f"hub_{service}.app")
    params = inspect.signature(app.create_app).parameters
    assert list(params)[:2] == ["settings", "container"]
    assert params["container"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_layer_contracts_cover_every_service_and_make_lint_runs_them() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    packages = {f"hub_{s}" for s in SERVICES}
    contracts = {c["type"]: c for c in config["contracts"] if c["type"] in ("independence", "layers")}
    assert set(contracts["independence"]["modules"]) == packages
    assert set(contracts["layers"]["containers"]) == packages
    assert packages <= set(config["root_packages"])
    lint = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "lint-imports" in lint


def test_coverage_measures_every_hub_package() -> None:
    """A new connector or library package is named in [tool.coverage.run] source_pkgs, or
    `make test`'s table silently leaves it out."""
    measured = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["coverage"]["run"]["source_pkgs"]
    )
    packages = {
        init.parent.name
        for area in ("libs", "services", "connectors", "examples")
        for init in (ROOT / area).glob("*/src/*/__init__.py")
    }
    assert packages - measured == set()
