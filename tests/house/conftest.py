"""What the house tests read: every service module's syntax tree, parsed once, nothing imported."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Module:
    service: str  # "oauth"
    name: str  # "hub_oauth.services.apps"
    path: Path
    tree: ast.Module

    @property
    def layer(self) -> str:
        """The package under the service's: ``api``, ``services``, ``repositories``, ... (or
        ``inject``, ``app``, ... for the modules at the top)."""
        return self.name.split(".")[1] if "." in self.name else ""

    @property
    def file(self) -> str:
        return str(self.path.relative_to(ROOT))

    def where(self, node: ast.AST) -> str:
        return f"{self.file}:{getattr(node, 'lineno', 0)}"


def parse_package(src: Path, service: str) -> list[Module]:
    modules = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules.append(Module(service, name, path, ast.parse(path.read_text(), str(path))))
    return modules


@pytest.fixture(scope="session")
def service_modules() -> list[Module]:
    """Every module of the five services' packages (``services/<name>/src/hub_<name>``)."""
    modules: list[Module] = []
    for src in sorted(ROOT.glob("services/*/src/hub_*")):
        modules += parse_package(src, src.parents[1].name)
    return modules


@pytest.fixture(scope="session")
def hub_modules(service_modules: list[Module]) -> list[Module]:
    """The services' modules plus the libraries', the connectors' and every test module."""
    modules = list(service_modules)
    for area in ("libs", "connectors", "examples"):
        for src in sorted(ROOT.glob(f"{area}/*/src/*")):
            if (src / "__init__.py").is_file():
                modules += parse_package(src, "")
    tests = [ROOT / "tests", *ROOT.glob("*/*/tests")]  # tests/ holds tests/e2e/tests too: a set below
    for path in sorted({p for t in tests for p in t.rglob("*.py")}):
        modules.append(Module("", f"<test {path.name}>", path, ast.parse(path.read_text(), str(path))))
    return modules
