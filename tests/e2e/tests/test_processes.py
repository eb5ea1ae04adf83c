"""The process runner's own guarantees."""

import pytest

from hub_e2e.processes import RUN_GROUP_PREFIX, ServiceProcess, free_port

pytestmark = pytest.mark.unit


def test_free_port_never_hands_out_the_same_port_twice():
    # Two replicas built back to back both get their port before either binds it.
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)


def test_a_test_runs_connectors_consume_in_their_own_groups():
    env = ServiceProcess("connectors", {}).process_env()
    assert env["HUB_CONNECTORS_CONSUMER_GROUP_PREFIX"] == f"{RUN_GROUP_PREFIX}.connectors"
    assert RUN_GROUP_PREFIX.startswith("e2e-")  # never the deployed default, "connectors"
    explicit = ServiceProcess("connectors", {"HUB_CONNECTORS_CONSUMER_GROUP_PREFIX": "mine"})
    assert explicit.process_env()["HUB_CONNECTORS_CONSUMER_GROUP_PREFIX"] == "mine"
    assert "HUB_CONNECTORS_CONSUMER_GROUP_PREFIX" not in ServiceProcess("oauth", {}).process_env()
