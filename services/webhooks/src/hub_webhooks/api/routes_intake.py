"""``POST /webhooks/{connector_id}[/{registration_id}]``: where providers deliver.

Plain Starlette routes, not FastAPI operations: the intake takes the raw body and answers a small
JSON document, so FastAPI's dependency resolution and response validation would only add
per-delivery cost (bench/webhooks_bench.py). The app's middleware (request id, tracing, metrics,
body limit) and its error handlers apply as to every route. The raw body is handed to the intake
untouched: verification runs on the exact bytes, before anything parses them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub_common import jsonutil


async def receive(request: Request) -> Response:
    container = request.app.state.container
    params = request.path_params
    body = await request.body()
    answer = await container.intake.receive(
        params["connector_id"],
        params.get("registration_id"),  # absent: one URL per app (Slack), routed by workspace
        request.scope["headers"],
        body,
        request.client.host if request.client else None,
    )
    return Response(jsonutil.dumps(answer), media_type="application/json")


routes = [
    Route("/webhooks/{connector_id}/{registration_id}", receive, methods=["POST"]),
    Route("/webhooks/{connector_id}", receive, methods=["POST"]),
]
