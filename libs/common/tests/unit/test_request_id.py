"""hub_common.web.request_id: one reading of a caller's traceparent for every entry."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from hub_common.logging import request_id_var
from hub_common.web.request_id import (
    enter_request,
    parse_traceparent,
    request_id_for,
    trace_carrier,
    traceparent_for,
)

pytestmark = pytest.mark.unit
TID = "4bf92f3577b34da6a3ce929d0e0e4736"
GOOD = f"00-{TID}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (GOOD, (TID, "01")),
        (GOOD.encode(), (TID, "01")),
        (f" {GOOD} ", (TID, "01")),
        (f"01-{TID}-00f067aa0ba902b7-01-later", (TID, "01")),  # a later version may add fields
        (f"00-{TID}-00f067aa0ba902b7-01-later", None),  # version 00 may not
        (f"ff-{TID}-00f067aa0ba902b7-01", None),
        (GOOD.upper(), None),  # upper-case hex: refused, as OpenTelemetry's propagator does
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),
        (f"00-{TID}-{'0' * 16}-01", None),
        (f"00-{TID}-xyz-01", None),  # the gateway's and the middleware's readings differed here
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_one_reading_of_traceparent(value, parsed):
    assert parse_traceparent(value) == parsed


def test_ids_without_a_span_follow_the_caller_or_are_new():
    assert request_id_for(None, GOOD) == TID
    outgoing = traceparent_for(trace.INVALID_SPAN, GOOD)
    assert outgoing[3:35] == TID and outgoing.endswith("-01") and outgoing != GOOD
    fresh = traceparent_for(None, "garbage")
    assert parse_traceparent(fresh) is not None and request_id_for(None, "garbage") != fresh[3:35]
    assert len(request_id_for()) == 32


def test_enter_request_scopes_the_id_and_the_callers_context():
    request_id_var.set("outer")
    entered = enter_request(trace_carrier(GOOD.encode(), b"k=v"))
    try:
        assert request_id_var.get() is None
        assert f"{trace.get_current_span().get_span_context().trace_id:032x}" == TID
    finally:
        entered.leave()
    assert request_id_var.get() == "outer"
    assert not trace.get_current_span().get_span_context().is_valid
    assert trace_carrier(None, b"k=v") is None
