"""The process runner's own guarantees."""

import pytest

from hub_e2e.processes import free_port

pytestmark = pytest.mark.unit


def test_free_port_never_hands_out_the_same_port_twice():
    # Two replicas built back to back both get their port before either binds it.
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)
