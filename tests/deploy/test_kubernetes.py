"""The kustomize overlays render, validate against the Kubernetes schemas (and the Strimzi and
CloudNativePG CRDs' own), and keep the deployment policies (docs/adr/0032); a broken manifest
is caught (the second half of this file)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest
from deploy_checks import (
    HUB_SERVICES,
    OVERLAYS,
    Doc,
    all_violations,
    availability_violations,
    containers,
    find,
    fresh,
    ingress_violations,
    network_violations,
    pod_spec,
    probe_violations,
    rendered,
    schema_violations,
    secret_violations,
    security_violations,
    selector_matches,
    workloads,
)

from hub_common.kafka.admin import hub_topics
from hub_common.service_keys import SERVICE_CALLERS, SERVICE_IDS
from hub_common.web.health import health_router
from hub_connectors.cli import SPEC as CONNECTORS
from hub_connectors.config import ConnectorsSettings
from hub_gateway.cli import SPEC as GATEWAY
from hub_gateway.config import GatewaySettings
from hub_oauth.cli import SPEC as OAUTH
from hub_oauth.config import OAuthSettings
from hub_vault.cli import SPEC as VAULT
from hub_vault.config import VaultSettings
from hub_webhooks.cli import SPEC as WEBHOOKS
from hub_webhooks.config import WebhooksSettings
from hubctl.main import build_parser

pytestmark = pytest.mark.component

SPECS = {spec.name: spec for spec in (VAULT, OAUTH, CONNECTORS, GATEWAY, WEBHOOKS)}
SETTINGS = (VaultSettings, OAuthSettings, ConnectorsSettings, GatewaySettings, WebhooksSettings)
KNOWN_ENV = {f"HUB_{field.upper()}" for cls in SETTINGS for field in cls.model_fields}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_service(overlay):
    docs = rendered(overlay)
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    assert deployments == {*(f"hub-{s}" for s in HUB_SERVICES), "hub-connectors-worker"}
    jobs = {d["metadata"]["name"] for d in docs if d["kind"] == "Job"}
    assert {f"hub-{s}-migrate" for s in HUB_SERVICES} <= jobs
    assert {d["metadata"].get("namespace") for d in docs} == {"hub-dev" if overlay == "dev" else "hub"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_first_phase_selects_what_the_jobs_need(overlay):
    """deploy/k8s/README.md applies ``-l 'app.kubernetes.io/component in (config,migration)'``
    first: the Jobs, and the ConfigMap and ServiceAccount they use."""
    docs = rendered(overlay)
    first = {
        (d["kind"], d["metadata"]["name"].split("-")[0] + "-" + d["metadata"]["name"].split("-")[1])
        for d in docs
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") in ("config", "migration")
    }
    assert ("ConfigMap", "hub-config") in first
    assert ("ServiceAccount", "hub-migrate") in first
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert jobs and all(d["metadata"]["labels"]["app.kubernetes.io/component"] == "migration" for d in jobs)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_manifests_validate_against_their_schemas(overlay):
    problems = [p for doc in rendered(overlay) for p in schema_violations(doc)]
    assert problems == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_manifests_keep_every_policy(overlay):
    assert all_violations(rendered(overlay), production=overlay == "prod") == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_command_is_one_the_image_has(overlay):
    """``hub-<service> <command>`` names a command of that service's CLI, ``hubctl ...`` parses."""
    for doc in workloads(rendered(overlay)):
        for c in containers(doc):
            program, *args = c["command"] + c.get("args", [])
            if program == "hubctl":
                build_parser().parse_args(args)  # SystemExit on an unknown command or flag
                continue
            service = program.removeprefix("hub-")
            assert service in SPECS, program
            assert args[0] in {"serve", "migrate", *SPECS[service].commands}, c["command"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_hub_variable_is_a_setting(overlay):
    """A misspelt HUB_ variable would be ignored silently (settings ignore unknown names)."""
    docs = rendered(overlay)
    names = set(find(docs, "ConfigMap", _config_name(docs))["data"])
    names |= {e["name"] for d in workloads(docs) for c in containers(d) for e in c.get("env", [])}
    assert {n for n in names if n.startswith("HUB_")} - KNOWN_ENV == set()


def _config_name(docs: tuple[Doc, ...] | list[Doc]) -> str:
    return next(d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap")


def test_the_probed_paths_are_the_ones_every_service_serves():
    """Every service's app includes hub_common's health router (``create_app``); ``hubctl up``
    waits for each one's /readyz, the e2e processes too."""
    served = {route.path for route in health_router(list).routes}
    probed = {
        c[probe]["httpGet"]["path"]
        for d in rendered("prod")
        if d["kind"] == "Deployment"
        for c in containers(d)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probed == {"/healthz", "/readyz"} <= served


def test_the_vault_keyring_and_service_keys_come_from_secrets():
    docs = rendered("prod")
    vault = pod_spec(find(docs, "Deployment", "hub-vault"))
    volumes = {v["name"]: v for v in vault["volumes"]}
    assert volumes["keyring"]["secret"]["secretName"] == "hub-vault-keyring"
    for service in ("oauth", "connectors", "gateway", "webhooks"):
        spec = pod_spec(find(docs, "Deployment", f"hub-{service}"))
        identity = {v["name"]: v for v in spec["volumes"]}["identity"]
        assert identity["secret"]["secretName"] == f"hub-{service}-identity"


def test_connectors_api_and_worker_split_the_work():
    docs = rendered("prod")

    def background(name: str) -> str:
        env = {e["name"]: e.get("value") for e in containers(find(docs, "Deployment", name))[0]["env"]}
        return env["HUB_CONNECTORS_BACKGROUND"]

    assert background("hub-connectors") == "false"
    assert background("hub-connectors-worker") == "true"
    service = find(docs, "Service", "hub-connectors")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"


def test_the_strimzi_component_has_a_topic_for_every_hub_topic():
    docs = rendered("dev")
    topics = {d["spec"]["topicName"] for d in docs if d["kind"] == "KafkaTopic"}
    assert topics == set(hub_topics())
    assert not [d for d in docs if d["kind"] == "Job" and d["metadata"]["name"] == "hub-topics"]
    for doc in workloads(docs):
        dsn = containers(doc)[0].get("env", [{}])[0]
        if dsn.get("name") == "HUB_POSTGRES_DSN":
            assert dsn["valueFrom"]["secretKeyRef"] == {"name": "hub-postgres-app", "key": "uri"}


# -- a broken manifest is caught ------------------------------------------------------------------

Breakage = Callable[[list[Doc]], None]


def _container(docs: list[Doc], name: str) -> dict:
    return containers(find(docs, "Deployment", name))[0]


def _drop(docs: list[Doc], kind: str, name: str) -> None:
    docs.remove(find(docs, kind, name))


def _route(docs: list[Doc], rule: int, path: str, service: str) -> None:
    backend = {"service": {"name": service, "port": {"name": "http"}}}
    paths = find(docs, "Ingress", "hub")["spec"]["rules"][rule]["http"]["paths"]
    paths.append({"path": path, "pathType": "Prefix", "backend": backend})


def _admit_to_vault(docs: list[Doc], peer: dict) -> None:
    find(docs, "NetworkPolicy", "hub-vault")["spec"]["ingress"][0]["from"].append(peer)


def _vault_env(docs: list[Doc], name: str) -> dict:
    return next(e for e in _container(docs, "hub-vault")["env"] if e["name"] == name)


BREAKAGES: dict[str, tuple[Breakage, Callable[..., list[str]], str]] = {
    "root user": (
        lambda d: (
            pod_spec(find(d, "Deployment", "hub-vault"))["securityContext"].update(runAsNonRoot=False)
            or _container(d, "hub-vault")["securityContext"].pop("runAsNonRoot")
        ),
        security_violations,
        "runAsNonRoot is not true",
    ),
    "writable root": (
        lambda d: _container(d, "hub-oauth")["securityContext"].update(readOnlyRootFilesystem=False),
        security_violations,
        "root filesystem is writable",
    ),
    "capabilities kept": (
        lambda d: _container(d, "hub-webhooks")["securityContext"].pop("capabilities"),
        security_violations,
        "capabilities not dropped",
    ),
    "no limits": (
        lambda d: _container(d, "hub-gateway")["resources"].pop("limits"),
        security_violations,
        "no memory limit",
    ),
    "latest image": (
        lambda d: _container(d, "hub-gateway").update(image="ghcr.io/integration-hub/integration-hub:latest"),
        security_violations,
        "is not pinned",
    ),
    "api token mounted": (
        lambda d: pod_spec(find(d, "Deployment", "hub-oauth")).update(automountServiceAccountToken=True),
        security_violations,
        "automountServiceAccountToken is not false",
    ),
    "no readiness probe": (
        lambda d: _container(d, "hub-webhooks").pop("readinessProbe"),
        probe_violations,
        "no readinessProbe GET /readyz",
    ),
    "liveness on the wrong path": (
        lambda d: _container(d, "hub-connectors-worker")["livenessProbe"]["httpGet"].update(path="/"),
        probe_violations,
        "no livenessProbe GET /healthz",
    ),
    "no disruption budget": (
        lambda d: _drop(d, "PodDisruptionBudget", "hub-oauth"),
        availability_violations,
        "Deployment/hub-oauth: no PodDisruptionBudget",
    ),
    "no gateway autoscaler": (
        lambda d: _drop(d, "HorizontalPodAutoscaler", "hub-gateway"),
        availability_violations,
        "no HorizontalPodAutoscaler",
    ),
    "no default deny": (
        lambda d: _drop(d, "NetworkPolicy", "hub-default-deny"),
        network_violations,
        "no default-deny",
    ),
    "vault open to the namespace": (
        lambda d: _admit_to_vault(d, {"podSelector": {}}),
        network_violations,
        "the vault admits any pod",
    ),
    "vault open to other namespaces": (
        lambda d: _admit_to_vault(d, {"namespaceSelector": {}}),
        network_violations,
        "the vault admits",
    ),
    "a vault caller left out": (
        lambda d: find(d, "NetworkPolicy", "hub-vault")["spec"]["ingress"][0]["from"][0]["podSelector"][
            "matchExpressions"
        ][0]["values"].remove("hub-webhooks"),
        network_violations,
        "does not admit all of its callers",
    ),
    "a service without an ingress policy": (
        lambda d: _drop(d, "NetworkPolicy", "hub-gateway"),
        network_violations,
        "Deployment/hub-gateway: behind a Service but no NetworkPolicy",
    ),
    "vault behind the ingress": (
        lambda d: _route(d, 0, "/v1/tenants", "hub-vault"),
        ingress_violations,
        "exposes the vault",
    ),
    "internal routes behind the ingress": (
        lambda d: _route(d, 0, "/internal", "hub-connectors"),
        ingress_violations,
        "exposes a private path",
    ),
    "everything behind the ingress": (
        lambda d: _route(d, 1, "/", "hub-gateway"),
        ingress_violations,
        "exposes every path",
    ),
    "a DSN with its password in the ConfigMap": (
        lambda d: next(x for x in d if x["kind"] == "ConfigMap")["data"].update(
            HUB_REDIS_URL="redis://hub:s3cret@redis:6379/0"
        ),
        secret_violations,
        "HUB_REDIS_URL looks like secret material",
    ),
    "the keyring inline": (
        lambda d: _container(d, "hub-vault")["env"].append({"name": "HUB_VAULT_KEYRING", "value": "{}"}),
        secret_violations,
        "HUB_VAULT_KEYRING is a literal",
    ),
    "the keyring file outside a Secret volume": (
        lambda d: _vault_env(d, "HUB_VAULT_KEYRING_FILE").update(value="/tmp/keyring.json"),
        secret_violations,
        "is not in a Secret volume",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_manifest_is_caught(breakage):
    breaks, check, finding = BREAKAGES[breakage]
    docs = fresh("prod")
    kwargs = {"production": True} if check is security_violations else {}
    assert not [v for v in check(docs, **kwargs) if finding in v]
    breaks(docs)
    assert [v for v in check(docs, **kwargs) if finding in v], check(docs, **kwargs)


def test_a_misspelt_field_fails_schema_validation():
    deployment = find(fresh("prod"), "Deployment", "hub-gateway")
    deployment["spec"]["replica"] = 2
    assert any("replica" in p for p in schema_violations(deployment))
    topic = next(d for d in fresh("dev") if d["kind"] == "KafkaTopic")
    assert schema_violations(topic) == []
    topic["spec"]["partition"] = 3
    assert any("partition" in p for p in schema_violations(topic))
    cluster = find(fresh("dev"), "Cluster", "hub-postgres")
    cluster["spec"]["instances"] = "three"
    assert any("instances" in p for p in schema_violations(cluster))


def test_a_hubctl_typo_does_not_parse():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["topics", "--replicas", "3"])
    assert isinstance(build_parser().parse_args(["topics", "--replication-factor", "3"]), argparse.Namespace)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_admits_exactly_the_services_that_call_it(overlay):
    """The NetworkPolicies follow who calls whom in the code (SERVICE_CALLERS): a new caller
    (webhooks → oauth for Jira's app secret, ADR 0030) without its rule would be a refused call
    in a cluster and nowhere else."""
    docs = rendered(overlay)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy" and "Ingress" in d["spec"]["policyTypes"]]
    for service, callers in SERVICE_CALLERS.items():
        target = {"app.kubernetes.io/name": f"hub-{service}", "app.kubernetes.io/component": "api"}
        admitted = set()
        for policy in policies:
            if not selector_matches(policy["spec"]["podSelector"], target):
                continue
            for rule in policy["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        admitted |= {
                            caller
                            for caller in SERVICE_IDS
                            if selector_matches(
                                peer["podSelector"], {"app.kubernetes.io/name": f"hub-{caller}"}
                            )
                        }
        expected = set(callers) - {"hubctl"}  # hubctl runs beside the cluster, not in it
        assert admitted == expected, f"{service}: admits {sorted(admitted)}, called by {sorted(expected)}"
