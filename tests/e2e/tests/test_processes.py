"""The process runner's own guarantees."""

import pytest

from hub_e2e.processes import RUN_GROUP_PREFIX, ServiceProcess, free_port

pytestmark = pytest.mark.unit


def test_free_port_never_hands_out_the_same_port_twice():
    # Two replicas built back to back both get their port before either binds it.
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)


def test_a_test_runs_connectors_consume_in_their_own_groups():
    env = ServiceProcess("connectors", {"HUB_POSTGRES_DSN": "postgresql://h/a"}).process_env()
    assert env["HUB_CONNECTORS_CONSUMER_GROUP_PREFIX"].startswith(f"{RUN_GROUP_PREFIX}-")
    assert env["HUB_CONNECTORS_CONSUMER_GROUP_PREFIX"].endswith(".connectors")
    assert RUN_GROUP_PREFIX.startswith("e2e-")  # never the deployed default, "connectors"
    explicit = ServiceProcess("connectors", {"HUB_CONNECTORS_CONSUMER_GROUP_PREFIX": "mine"})
    assert explicit.process_env()["HUB_CONNECTORS_CONSUMER_GROUP_PREFIX"] == "mine"
    assert "HUB_CONNECTORS_CONSUMER_GROUP_PREFIX" not in ServiceProcess("oauth", {}).process_env()


def test_each_database_gets_its_own_groups_and_replicas_share_theirs():
    """The next module's consumers never resume where an earlier module's left off (a backlog)."""

    def groups(dsn: str) -> dict[str, str]:
        return {
            key: value
            for service in ("connectors", "webhooks")
            for key, value in ServiceProcess(service, {"HUB_POSTGRES_DSN": dsn}).process_env().items()
            if "GROUP" in key
        }

    one, replica, other = groups("postgresql://h/a"), groups("postgresql://h/a"), groups("postgresql://h/b")
    assert one == replica and len(one) == 3
    assert not set(one.values()) & set(other.values())
