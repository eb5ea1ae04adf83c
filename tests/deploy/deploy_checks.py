"""Rendering, schema validation and policy checks of the deployment files (docs/adr/0032).

Every ``*_violations`` function returns human-readable findings, empty when the manifests keep
the policy, so a test can feed it a broken manifest and see the finding.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SCHEMAS = Path(__file__).parent / "schemas"
KUBERNETES_VERSION = "1.32.0"  # the oldest minor the manifests target (autoscaling/v2, policy/v1)

Doc = dict[str, Any]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
HUB_SERVICES = ("vault", "oauth", "connectors", "gateway", "webhooks")
VAULT_CALLERS = {"hub-oauth", "hub-connectors", "hub-gateway", "hub-webhooks"}
# Never behind the Ingress: service-to-service routes, metrics, health and status.
PRIVATE_PATHS = ("/internal", "/metrics", "/status", "/healthz", "/readyz")
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|private|token|keyring|credential|dsn)")
SECRET_VALUE = re.compile(
    r"://[^/\s:@]+:[^/\s@]+@"  # a URL with a password
    r"|-----BEGIN [A-Z ]*PRIVATE KEY|hub-vault-keyring|\"material\""
)


# -- rendering ------------------------------------------------------------------------------------


def kustomize_command() -> list[str]:
    """The command that renders a directory: ``HUB_KUSTOMIZE``, the bootstrap's
    ``.tools/bin/kustomize``, a kustomize on PATH (each ``kustomize build``), or kubectl's
    built-in one (``kubectl kustomize``, no ``build`` verb), in that order."""
    configured = os.environ.get("HUB_KUSTOMIZE")
    if configured:
        return [configured, "build"]
    local = REPO / ".tools" / "bin" / "kustomize"
    if local.exists():
        return [str(local), "build"]
    found = shutil.which("kustomize")
    if found:
        return [found, "build"]
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    raise RuntimeError("no kustomize: run scripts/bootstrap.sh (it builds one into .tools/bin)")


def render(directory: Path) -> list[Doc]:
    proc = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"kustomize build {directory} failed: {proc.stderr.strip()}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


@cache
def rendered(overlay: str) -> tuple[Doc, ...]:
    return tuple(render(K8S / "overlays" / overlay))


def fresh(overlay: str) -> list[Doc]:
    """A copy a test may break."""
    return copy.deepcopy(list(rendered(overlay)))


def find(docs: Iterable[Doc], kind: str, name: str) -> Doc:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise KeyError(f"{kind}/{name}")


# -- schemas --------------------------------------------------------------------------------------


def _strict(node: Any) -> Any:
    """A CRD's structural schema, made to refuse unknown fields as ``kubectl apply
    --validate=strict`` does (the API server would drop them silently otherwise)."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    group, _, version = api_version.rpartition("/")
    path = SCHEMAS / "crds" / f"{group}_{version}_{kind}.json"
    if not path.exists():
        return None
    schema: dict[str, Any] = _strict(json.loads(path.read_text()))
    # metadata is the API server's: only its shape is checked here.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return schema


def schema_violations(doc: Doc) -> list[str]:
    what = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    schema = crd_schema(doc.get("apiVersion", ""), doc.get("kind", ""))
    if schema is not None:
        validator = jsonschema.Draft7Validator(schema)
        return [f"{what}: {'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{what}: no schema for {doc.get('apiVersion')} {doc.get('kind')}"]
    except kubernetes_validate.ValidationError as exc:
        return [f"{what}: {'/'.join(map(str, exc.path))}: {exc.message}"]
    return []


def compose_violations(compose: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in validator.iter_errors(compose)]


# -- policies -------------------------------------------------------------------------------------


def pod_spec(doc: Doc) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def pod_labels(doc: Doc) -> dict[str, str]:
    labels: dict[str, str] = doc["spec"]["template"]["metadata"].get("labels", {})
    return labels


def workloads(docs: Iterable[Doc]) -> Iterator[Doc]:
    return (d for d in docs if d["kind"] in WORKLOAD_KINDS)


def containers(doc: Doc) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and the four operators)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def security_violations(docs: Iterable[Doc], *, production: bool) -> list[str]:
    found = []
    service_accounts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
    for doc in workloads(docs):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        spec = pod_spec(doc)
        pod_sec = spec.get("securityContext", {})
        account = spec.get("serviceAccountName", "default")
        if account == "default" or account not in service_accounts:
            found.append(f"{name}: runs as service account {account!r}, not one of its own")
        elif service_accounts[account].get("automountServiceAccountToken") is not False:
            found.append(f"{name}: service account {account} mounts an API token")
        if spec.get("automountServiceAccountToken") is not False:
            found.append(f"{name}: automountServiceAccountToken is not false")
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                found.append(f"{name}: {key}")
        for c in containers(doc):
            where = f"{name} container {c['name']}"
            sec = c.get("securityContext", {})
            if sec.get("runAsNonRoot", pod_sec.get("runAsNonRoot")) is not True:
                found.append(f"{where}: runAsNonRoot is not true")
            if sec.get("runAsUser", pod_sec.get("runAsUser")) == 0:
                found.append(f"{where}: runs as uid 0")
            seccomp = sec.get("seccompProfile", pod_sec.get("seccompProfile", {}))
            if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
                found.append(f"{where}: no RuntimeDefault seccomp profile")
            if sec.get("readOnlyRootFilesystem") is not True:
                found.append(f"{where}: root filesystem is writable")
            if sec.get("allowPrivilegeEscalation") is not False:
                found.append(f"{where}: allowPrivilegeEscalation is not false")
            if sec.get("privileged"):
                found.append(f"{where}: privileged")
            if "ALL" not in (sec.get("capabilities", {}).get("drop") or []):
                found.append(f"{where}: capabilities not dropped (drop: [ALL])")
            if sec.get("capabilities", {}).get("add") or []:
                found.append(f"{where}: adds capabilities")
            resources = c.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        found.append(f"{where}: no {resource} {part[:-1]}")
            image = c.get("image", "")
            tag = image.rsplit("/", 1)[-1]
            if production and ("@sha256:" not in image and (":" not in tag or tag.endswith(":latest"))):
                found.append(f"{where}: image {image!r} is not pinned (a release tag or digest)")
    return found


def probe_violations(docs: Iterable[Doc]) -> list[str]:
    found = []
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        for c in containers(doc):
            where = f"Deployment/{doc['metadata']['name']} container {c['name']}"
            declared = c.get("ports", [])
            ports = {p.get("name") for p in declared} | {p["containerPort"] for p in declared}
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = (c.get(probe) or {}).get("httpGet") or {}
                if get.get("path") != path or get.get("port") not in ports:
                    found.append(f"{where}: no {probe} GET {path} on a declared port")
    return found


def availability_violations(docs: Iterable[Doc]) -> list[str]:
    docs = list(docs)
    found = []
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    scalers = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        name = doc["metadata"]["name"]
        labels = pod_labels(doc)
        if not any(selector_matches(b["spec"].get("selector"), labels) for b in budgets):
            found.append(f"Deployment/{name}: no PodDisruptionBudget selects its pods")
    if not any(s["spec"]["scaleTargetRef"]["name"] == "hub-gateway" for s in scalers):
        found.append("Deployment/hub-gateway: no HorizontalPodAutoscaler")
    return found


def _policies(docs: Iterable[Doc], kind: str) -> list[Doc]:
    return [
        d for d in docs if d["kind"] == "NetworkPolicy" and kind in d["spec"].get("policyTypes", ["Ingress"])
    ]


def _peer_admits(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a ``from`` peer admits a pod of this namespace with these labels."""
    if "ipBlock" in peer or "namespaceSelector" in peer:
        return True  # other namespaces or addresses: treated as admitting anyone
    return selector_matches(peer.get("podSelector"), labels)


def network_violations(docs: Iterable[Doc]) -> list[str]:
    docs = list(docs)
    found = []
    deny = [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and d["spec"].get("podSelector") == {}
        and set(d["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not d["spec"].get("ingress")
        and not d["spec"].get("egress")
    ]
    if not deny:
        found.append("no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)")
    ingress_policies, egress_policies = _policies(docs, "Ingress"), _policies(docs, "Egress")
    services = [d for d in docs if d["kind"] == "Service"]
    for doc in workloads(docs):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        labels = pod_labels(doc)
        allows_egress = [
            p
            for p in egress_policies
            if p["spec"].get("egress") and selector_matches(p["spec"]["podSelector"], labels)
        ]
        if not allows_egress:
            found.append(f"{name}: no NetworkPolicy allows its egress (datastores)")
        # A Service's selector is a plain label map (no matchExpressions).
        served = any(
            s["spec"].get("selector") and selector_matches({"matchLabels": s["spec"]["selector"]}, labels)
            for s in services
        )
        allows_ingress = [
            p
            for p in ingress_policies
            if p["spec"].get("ingress") and selector_matches(p["spec"]["podSelector"], labels)
        ]
        if served and not allows_ingress:
            found.append(f"{name}: behind a Service but no NetworkPolicy admits its callers")
    # The vault: only the four other services, from this namespace, on any rule that selects it.
    vault_labels = {"app.kubernetes.io/name": "hub-vault", "app.kubernetes.io/component": "api"}
    strangers = [{}, {"app.kubernetes.io/name": "intruder"}, vault_labels]
    for policy in ingress_policies:
        if not selector_matches(policy["spec"]["podSelector"], vault_labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            if not peers:
                found.append(f"NetworkPolicy/{policy['metadata']['name']}: admits anyone to the vault")
                continue
            for peer in peers:
                for stranger in strangers:
                    if _peer_admits(peer, stranger):
                        who = stranger or "any pod"
                        found.append(f"NetworkPolicy/{policy['metadata']['name']}: the vault admits {who}")
    vault_admits = set()
    for policy in ingress_policies:
        if selector_matches(policy["spec"]["podSelector"], vault_labels):
            for rule in policy["spec"].get("ingress", []):
                for peer in rule.get("from") or []:
                    vault_admits |= {
                        c for c in VAULT_CALLERS if _peer_admits(peer, {"app.kubernetes.io/name": c})
                    }
    if missing := sorted(VAULT_CALLERS - vault_admits):
        found.append(f"the vault does not admit all of its callers: {missing} missing")
    return found


def ingress_violations(docs: Iterable[Doc]) -> list[str]:
    docs = list(docs)
    found = []
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    if not ingresses:
        found.append("no Ingress")
    for ingress in ingresses:
        name = f"Ingress/{ingress['metadata']['name']}"
        if "defaultBackend" in ingress["spec"]:
            found.append(f"{name}: a default backend exposes every path")
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]["name"]
                where = f"{name} {rule.get('host')}{path.get('path')}"
                if backend == "hub-vault":
                    found.append(f"{where}: exposes the vault")
                if backend not in services:
                    found.append(f"{where}: no Service {backend}")
                p = path.get("path", "/").rstrip("/")
                if not p or path.get("pathType") == "ImplementationSpecific":
                    found.append(f"{where}: exposes every path of {backend}")
                if any(p == x or p.startswith(x + "/") or x.startswith(p + "/") for x in PRIVATE_PATHS):
                    found.append(f"{where}: exposes a private path")
    return found


def _literal_env(doc: Doc) -> Iterator[tuple[str, str, str]]:
    for c in containers(doc):
        for env in c.get("env", []):
            if "value" in env:
                yield c["name"], env["name"], str(env["value"])


def secret_violations(docs: Iterable[Doc]) -> list[str]:
    docs = list(docs)
    found = []
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                if SECRET_NAME.search(key) or SECRET_VALUE.search(str(value)):
                    found.append(f"ConfigMap/{doc['metadata']['name']}: {key} looks like secret material")
    for doc in workloads(docs):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        for container, env, value in _literal_env(doc):
            if (SECRET_NAME.search(env) and not env.endswith("_FILE")) or SECRET_VALUE.search(value):
                found.append(f"{name} container {container}: {env} is a literal, not from a Secret")
        spec = pod_spec(doc)
        secret_volumes = {v["name"] for v in spec.get("volumes", []) if "secret" in v}
        for c in containers(doc):
            mounts = [m for m in c.get("volumeMounts", []) if m["name"] in secret_volumes]
            for env in c.get("env", []):
                if env["name"].endswith("_FILE") and SECRET_NAME.search(env["name"]):
                    path = env.get("value", "")
                    if not any(path.startswith(m["mountPath"].rstrip("/") + "/") for m in mounts):
                        found.append(f"{name}: {env['name']}={path} is not in a Secret volume")
    vault = [d for d in workloads(docs) if pod_labels(d).get("app.kubernetes.io/name") == "hub-vault"]
    for doc in vault:
        names = {e["name"] for c in containers(doc) for e in c.get("env", [])}
        if doc["kind"] == "Deployment" and "HUB_VAULT_KEYRING_FILE" not in names:
            found.append(f"Deployment/{doc['metadata']['name']}: the keyring is not a file from a Secret")
    return found


def all_violations(docs: Iterable[Doc], *, production: bool) -> list[str]:
    docs = list(docs)
    return [
        *security_violations(docs, production=production),
        *probe_violations(docs),
        *availability_violations(docs),
        *network_violations(docs),
        *ingress_violations(docs),
        *secret_violations(docs),
    ]
