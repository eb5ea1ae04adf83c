"""Who may start an OAuth flow for whom (docs/adr/0029): a user for themselves; the connectors
service (its UI, end users' connect sessions) for a user it names; no other service."""

import pytest

from hub_common.errors import BadRequest, Forbidden
from hub_common.web.auth import Principal, Tier
from hub_oauth.api.routes import _flow_starter
from hub_oauth.api.schemas import FlowIn

pytestmark = pytest.mark.unit
CID = "6f1c9a52-8a7e-4d0b-9d4e-2a0e4b9f0c20"


def test_a_user_starts_for_themselves_whatever_the_body_names():
    user = Principal("user", tenant_id="acme", user_id="alice", tier=Tier.TEAMS)
    body = FlowIn(connection_id=CID, tenant_id="other", user_id="mallory")
    assert _flow_starter(user, body) is user


def test_connectors_starts_for_the_user_it_names():
    service = Principal("service", service_id="connectors")
    started = _flow_starter(service, FlowIn(connection_id=CID, tenant_id="acme", user_id="alice"))
    assert (started.kind, started.tenant_id, started.user_id) == ("user", "acme", "alice")
    with pytest.raises(BadRequest):
        _flow_starter(service, FlowIn(connection_id=CID, tenant_id="acme"))


def test_no_other_service_starts_flows():
    with pytest.raises(Forbidden):
        _flow_starter(
            Principal("service", service_id="gateway"),
            FlowIn(connection_id=CID, tenant_id="acme", user_id="a"),
        )
