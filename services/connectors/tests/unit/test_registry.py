"""The registry: manifest validation at load, unique ids, and plugins discovered from entry points
(a broken plugin is reported and skipped, never fatal)."""

import os
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from hub_connector_sdk import ENTRY_POINT_GROUP, ApiSpec, AuthenticationMethod, AuthSpec, BaseConnector
from hub_connector_sdk.versions import at_most
from hub_connectors.registry import BUILTINS, ConnectorRegistry, discover_plugins, load_registry

pytestmark = pytest.mark.unit


def variant(base, **attrs):
    return type(f"{base.__name__}Variant", (base,), attrs)


def only_problem(registry):
    assert len(registry.problems) == 1, registry.problems
    return registry.problems[0]


def test_the_builtins_load_cleanly_as_builtins():
    registry = load_registry("0.1.0", plugins=False)
    assert registry.problems == []
    assert (
        [r.id for r in registry.all()]
        == sorted(c.id for c in BUILTINS)
        == [
            "anthropic",
            "confluence",
            "confluence_api_token",
            "github",
            "github_pat",
            "gitlab",
            "gitlab_pat",
            "jira",
            "jira_api_token",
            "linear",
            "linear_api_key",
            "notion",
            "notion_token",
            "openai",
            "slack",
            "slack_bot",
        ]
    )
    assert all(r.manifest.builtin and not r.custom for r in registry.all())


def test_the_registry_decides_what_is_builtin(kit):
    registry = kit.make_registry()
    assert [r.id for r in registry.all()] == ["echoapi", "oauththing", "pagerlike", "rogue"]
    assert registry.get("echoapi").manifest.builtin and not registry.get("echoapi").custom
    claims_builtin = variant(kit.RoguePlugin, builtin=True, id="sneaky")
    plugin = ConnectorRegistry("0.1.0").add_plugin(claims_builtin, source="sneaky")
    assert plugin is not None and plugin.custom and not plugin.manifest.builtin


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"version": "1.0"}, "not a semantic version"),
        ({"min_hub_version": "9.0.0"}, "needs hub 9.0.0 or newer; this hub is 0.1.0"),
        ({"min_hub_version": "latest"}, "not a semantic version"),
        ({"auth": AuthSpec(method=AuthenticationMethod.CUSTOM)}, "auth method custom is not supported"),
        ({"id": "Bad-Id"}, "id"),
        (
            {"api": ApiSpec(base_url="https://elsewhere.test", allowed_hosts=["api.echo.test"])},
            "host elsewhere.test is not among the hosts",
        ),
        ({"api": ApiSpec(base_url="http://127.0.0.1:9000")}, "internal address"),
        (
            {"api": ApiSpec(base_url="https://api.x.test", config_schema={"type": 5})},
            "config_schema is not a JSON Schema",
        ),
    ],
)
def test_invalid_manifests_are_reported_with_the_reason(kit, attrs, message):
    registry = ConnectorRegistry("0.1.0")
    assert (
        registry.add_plugin(variant(kit.RoguePlugin, **attrs), source="bad", distribution="hub-bad") is None
    )
    problem = only_problem(registry)
    assert message in problem.error
    assert problem.source == "plugin:bad" and problem.distribution == "hub-bad"
    assert registry.all() == []


def test_unknown_auth_method_in_raw_data_is_rejected(kit):
    class RawAuth(kit.RoguePlugin):
        auth = {"method": "saml"}  # not an AuthSpec at all

    registry = ConnectorRegistry("0.1.0")
    registry.add_plugin(RawAuth, source="raw")
    assert "auth" in only_problem(registry).error


def test_missing_attributes_and_non_connectors(kit):
    class Incomplete(BaseConnector):
        id = "incomplete"

    registry = ConnectorRegistry("0.1.0")
    registry.add_plugin(Incomplete, source="incomplete")
    registry.add_plugin(object(), source="notaclass")
    registry.add_plugin(dict, source="wrongclass")
    errors = [p.error for p in registry.problems]
    assert "missing class attribute 'name'" in errors[0]
    assert "is not a BaseConnector subclass" in errors[1] and "is not a BaseConnector subclass" in errors[2]


def test_a_manifest_that_raises_anything_is_contained(kit):
    class Exploding(kit.RoguePlugin):
        @classmethod
        def manifest(cls):
            raise ZeroDivisionError("oops")

    registry = ConnectorRegistry("0.1.0")
    registry.add_plugin(Exploding, source="exploding")
    assert "ZeroDivisionError: oops" in only_problem(registry).error


def test_ids_are_unique_across_builtins_and_plugins(kit):
    registry = ConnectorRegistry("0.1.0")
    registry.add_builtin(kit.EchoApi)
    registry.add_plugins([(variant(kit.RoguePlugin, id="echoapi"), "shadow", "hub-shadow")])
    problem = only_problem(registry)
    assert "duplicate connector id 'echoapi'" in problem.error and "builtin:" in problem.error
    assert registry.get("echoapi").connector_class is kit.EchoApi


def test_two_plugins_claiming_one_id_are_both_refused(kit):
    registry = ConnectorRegistry("0.1.0")
    one, two = variant(kit.RoguePlugin, id="twin"), variant(kit.RoguePlugin, id="twin")
    registry.add_plugins([(one, "one", None), (two, "two", None), (kit.RoguePlugin, "rogue", None)])
    assert [r.id for r in registry.all()] == ["rogue"]
    assert [p.source for p in registry.problems] == ["plugin:one", "plugin:two"]
    assert all("claimed by plugin:one, plugin:two" in p.error for p in registry.problems)


def test_entry_points_with_import_errors_are_skipped(tmp_path, monkeypatch):
    (tmp_path / "hub_test_good_plugin.py").write_text(
        PLUGIN_SOURCE + "\n\nclass Good(Installed):\n    id = 'goodplugin'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # the discovery process gets the service's path
    eps = [
        EntryPoint("good", "hub_test_good_plugin:Good", ENTRY_POINT_GROUP),
        EntryPoint("missing", "hub_no_such_module_xyz:Thing", ENTRY_POINT_GROUP),
        EntryPoint("noattr", "hub_test_good_plugin:Nope", ENTRY_POINT_GROUP),
    ]
    registry = ConnectorRegistry("0.1.0")
    discover_plugins(registry, eps)
    assert [r.id for r in registry.all()] == ["goodplugin"]
    errors = {p.source: p.error for p in registry.problems}
    assert "ModuleNotFoundError" in errors["plugin:missing"]
    assert "AttributeError" in errors["plugin:noattr"]


def test_plugins_are_imported_outside_the_service_without_its_secrets(tmp_path, monkeypatch):
    """A plugin's module-level code runs in the discovery process, never in the service: here it
    writes what it saw into its manifest's description."""
    write_distribution(
        tmp_path,
        "hub_nosy_plugin",
        {"nosy": "hub_nosy_mod:Nosy"},
        {
            "hub_nosy_mod": PLUGIN_SOURCE
            + "\n\nimport os\n\nclass Nosy(Installed):\n    id = 'nosy'\n"
            + "    description = f\"pid={os.getpid()} secret={'HUB_SERVICE_SECRET' in os.environ}\"\n"
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HUB_SERVICE_SECRET", "s" * 40)
    registry = load_registry("0.1.0")
    nosy = registry.get("nosy")
    assert nosy is not None and nosy.connector_class is None  # never imported here
    assert nosy.ref.module == "hub_nosy_mod" and nosy.ref.qualname == "Nosy"
    pid, secret = nosy.manifest.description.split()
    assert pid != f"pid={os.getpid()}" and secret == "secret=False"
    assert "hub_nosy_mod" not in sys.modules


PLUGIN_SOURCE = """
from hub_connector_sdk import (
    ApiSpec, AuthenticationMethod, AuthSpec, BaseConnector, ConnectorCategory, action,
)


class Installed(BaseConnector):
    id = "installed"
    name = "Installed"
    category = ConnectorCategory.CUSTOM
    description = "Found through its entry point."
    auth = AuthSpec(method=AuthenticationMethod.BEARER)
    api = ApiSpec(base_url="https://api.installed.test")

    @action()
    async def hello(self, params):
        return {"hello": "world"}


class BadVersion(Installed):
    id = "badversion"
    version = "one"
"""


def write_distribution(root, name, entry_points, modules):
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{name}-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}\n")


def test_installed_distributions_are_discovered_and_broken_ones_skipped(tmp_path, monkeypatch):
    write_distribution(
        tmp_path,
        "hub_installed_plugin",
        {"installed": "hub_installed_mod:Installed", "badversion": "hub_installed_mod:BadVersion"},
        {"hub_installed_mod": PLUGIN_SOURCE},
    )
    write_distribution(
        tmp_path,
        "hub_crashing_plugin",
        {"crashing": "hub_crashing_mod:Thing", "exiting": "hub_exiting_mod:Thing"},
        {
            "hub_crashing_mod": "raise RuntimeError('plugin import blew up')\n",
            "hub_exiting_mod": "import sys\nsys.exit(4)\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    registry = load_registry("0.1.0")

    installed = registry.get("installed")
    assert installed is not None and installed.custom
    assert installed.distribution == "hub_installed_plugin"
    assert installed.manifest.action("hello") is not None
    errors = {p.source: p for p in registry.problems}
    assert "not a semantic version" in errors["plugin:badversion"].error
    assert "RuntimeError: plugin import blew up" in errors["plugin:crashing"].error
    assert errors["plugin:crashing"].distribution == "hub_crashing_plugin"
    assert "SystemExit" in errors["plugin:exiting"].error


@pytest.mark.parametrize(
    ("a", "b", "ok"),
    [
        ("0.1.0", "0.1.0", True),
        ("0.1.0", "0.2.0", True),
        ("0.10.0", "0.9.0", False),
        ("1.0.0-rc.1", "1.0.0", True),
        ("1.0.0", "1.0.0-rc.1", False),
        ("1.0.0-alpha", "1.0.0-alpha.1", True),
        ("1.0.0-alpha.2", "1.0.0-alpha.10", True),
        ("1.0.0+build.5", "1.0.0", True),
    ],
)
def test_semver_order(a, b, ok):
    assert at_most(a, b) is ok
