"""``StatuspageConnector``: incidents and component status on an Atlassian Statuspage page.

Every call goes through the hub's gateway (``self.client``), which adds the connection's API key
as ``Authorization: OAuth <key>``; this code never sees the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorError,
    ContentDocument,
    CredentialField,
    ExportPage,
    PollResult,
    ProviderError,
    TriggerEvent,
    TriggerOutput,
    TriggerType,
    WebhookRegistration,
    action,
    polling_trigger,
    trigger,
)
from hub_connector_statuspage.events import (
    COMPONENT_EVENT,
    INCIDENT_EVENT,
    ComponentStatusChange,
    ExportCursor,
    IncidentCursor,
    IncidentNotification,
    event_name,
    parse_time,
)
from hub_connector_statuspage.models import (
    STATUSPAGE_ID,
    Component,
    CreateIncident,
    Incident,
    IncidentList,
    ListIncidents,
    UpdateComponentStatus,
    UpdateIncident,
)

POLL_PAGE_SIZE = 100  # the API's maximum
MAX_EXPORT_PAGES = 100  # 10 000 incidents per export run
MAX_POLL_PAGES = 5  # a burst of more than 500 new incidents between two polls is not worth chasing

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "page_id": {
            "type": "string",
            "pattern": STATUSPAGE_ID,
            "title": "Page ID",
            "description": "Shown in Statuspage under Your page → API info",
        },
        "webhook_email": {
            "type": "string",
            "format": "email",
            "title": "Webhook contact email",
            "description": "Where Statuspage reports failed webhook deliveries (needed by webhook triggers)",
        },
    },
    "required": ["page_id"],
    "additionalProperties": False,
}


class StatuspageConnector(BaseConnector):
    id = "statuspage"
    name = "Statuspage"
    version = "1.1.0"
    min_hub_version = "0.1.0"
    category = ConnectorCategory.MONITORING
    description = "Open and update incidents and set component status on an Atlassian Statuspage page."
    docs_url = "https://developer.statuspage.io/"
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(location="header", name="Authorization", prefix="OAuth "),
        fields=[
            CredentialField(
                key="api_key",
                label="API key",
                description="Statuspage → your avatar → API info → Create key",
            )
        ],
    )
    api = ApiSpec(
        base_url="https://api.statuspage.io/v1",
        allowed_hosts=["api.statuspage.io"],
        config_schema=CONFIG_SCHEMA,
    )
    health_path = "pages/{page_id}"

    def health_account_info(self, body: Any) -> Mapping[str, str]:
        # `id` and `name` become the connection's external account in the hub.
        if not isinstance(body, dict):
            return {}
        return {key: str(body[key]) for key in ("id", "name", "url", "subdomain") if body.get(key)}

    # -- actions ----------------------------------------------------------------------------------
    @action(params=CreateIncident, output=Incident)
    async def create_incident(self, params: CreateIncident) -> Incident:
        """Open an incident on the page."""
        resp = await self.client.post(self.expand_path("pages/{page_id}/incidents"), json=params.to_api())
        return Incident.from_api(resp.json())

    @action(params=UpdateIncident, output=Incident)
    async def update_incident(self, params: UpdateIncident) -> Incident:
        """Change an incident's status, name or components, or post an update message."""
        path = self.expand_path("pages/{page_id}/incidents/{incident_id}", incident_id=params.incident_id)
        resp = await self.client.patch(path, json=params.to_api())
        return Incident.from_api(resp.json())

    @action(params=ListIncidents, output=IncidentList, idempotent=True)
    async def list_incidents(self, params: ListIncidents) -> IncidentList:
        """List the page's incidents, newest first."""
        query: dict[str, Any] = {"limit": params.limit, "page": params.page}
        if params.query:
            query["q"] = params.query
        resp = await self.client.get(self.expand_path("pages/{page_id}/incidents"), params=query)
        items = resp.json() or []
        return IncidentList(
            incidents=[Incident.from_api(i) for i in items],
            page=params.page,
            has_more=len(items) == params.limit,
        )

    @action(params=UpdateComponentStatus, output=Component, idempotent=True)
    async def update_component_status(self, params: UpdateComponentStatus) -> Component:
        """Set a component's status (operational, degraded_performance, partial_outage, ...)."""
        path = self.expand_path("pages/{page_id}/components/{component_id}", component_id=params.component_id)
        resp = await self.client.patch(path, json={"component": {"status": params.status}})
        body = resp.json()
        return Component(
            id=body["id"], name=body["name"], status=body["status"], updated_at=body.get("updated_at")
        )

    # -- webhook triggers ---------------------------------------------------------------------------
    def webhook_event_name(self, headers: Mapping[str, str], payload: Any) -> str | None:
        return event_name(payload)

    @trigger(
        "incident_updated", type=TriggerType.UPDATED, events=[INCIDENT_EVENT], payload=IncidentNotification
    )
    def on_incident(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """An incident was opened or updated (Statuspage notifies both the same way)."""
        notification = IncidentNotification.from_webhook(payload)
        if not self._for_this_page(notification.page_id):
            return None
        incident = notification.incident
        # Statuspage sends no delivery id: the incident's id and update time name the event,
        # so a redelivered notification is recognised, and its time is the incident's own.
        changed = incident.updated_at or incident.created_at
        return TriggerOutput(
            payload=notification.model_dump(mode="json"),
            event_id=f"incident:{incident.id}:{changed}",
            occurred_at=parse_time(changed),
        )

    @trigger(
        "component_status_changed",
        type=TriggerType.STATUS_CHANGED,
        events=[COMPONENT_EVENT],
        payload=ComponentStatusChange,
    )
    def on_component(self, event: str, payload: dict[str, Any]) -> TriggerOutput | None:
        """A component changed status."""
        change = ComponentStatusChange.from_webhook(payload)
        if not self._for_this_page(change.page_id):
            return None
        update_id = (payload.get("component_update") or {}).get("id")
        return TriggerOutput(
            payload=change.model_dump(mode="json"),
            event_id=f"component_update:{update_id}" if update_id else None,
            occurred_at=parse_time(change.changed_at) if change.changed_at else None,
        )

    def _for_this_page(self, page_id: str | None) -> bool:
        # A subscriber URL could be reused across pages; fire only for the connection's own page.
        return page_id is None or page_id == self.context.config.get("page_id")

    async def register_webhook(
        self, trigger_ids: list[str], target_url: str, secret: str
    ) -> WebhookRegistration:
        """Subscribe the hub's webhook URL to the page as a webhook subscriber.

        Statuspage does not sign deliveries, so ``secret`` has no use here: the unguessable
        registration URL is what tells a genuine delivery apart.
        """
        email = self.context.config.get("webhook_email")
        if not email:
            raise ConnectorError(
                "webhook triggers need webhook_email in the connection's config", code="invalid_config"
            )
        resp = await self.client.post(
            self.expand_path("pages/{page_id}/subscribers"),
            json={
                "subscriber": {"endpoint": target_url, "email": email, "skip_confirmation_notification": True}
            },
        )
        subscriber = resp.json()
        return WebhookRegistration(
            external_id=str(subscriber["id"]),
            events=[INCIDENT_EVENT, COMPONENT_EVENT],
            metadata={"page_id": self.context.config.get("page_id")},
        )

    async def unregister_webhook(self, registration: WebhookRegistration) -> None:
        path = self.expand_path(
            "pages/{page_id}/subscribers/{subscriber_id}", subscriber_id=registration.external_id
        )
        try:
            await self.client.delete(path)
        except ProviderError as exc:
            if exc.status_code != 404:  # already gone is what we wanted
                raise

    # -- content export -----------------------------------------------------------------------------
    async def export_content(self, cursor: str | None) -> ExportPage:
        """The page's incidents as documents for search, a page of the API at a time.

        The cursor says which API page comes next and which update time the run exports from
        (empty: everything). The last page's cursor starts the next incremental run at page 1
        from the newest update seen, so it exports only incidents changed since.
        """
        state = ExportCursor.parse(cursor)
        batch = await self._incident_page(state.page)
        documents = [
            _document(incident)
            for incident in batch
            if state.since is None
            or parse_time(incident.get("updated_at") or incident["created_at"]) > state.since
        ]
        newest = max([state.newest, *(d.updated_at for d in documents)], key=_sortable)
        if len(batch) < POLL_PAGE_SIZE or state.page >= MAX_EXPORT_PAGES:
            return ExportPage(
                documents=documents, cursor=str(ExportCursor(1, newest, newest)), has_more=False
            )
        return ExportPage(
            documents=documents, cursor=str(ExportCursor(state.page + 1, state.since, newest)), has_more=True
        )

    # -- polling trigger ----------------------------------------------------------------------------
    @polling_trigger("incident_created", type=TriggerType.CREATED, interval_s=60, payload=Incident)
    async def poll_new_incidents(self, cursor: str | None) -> PollResult:
        """A new incident appeared on the page (polling: works without a webhook subscription)."""
        if cursor is None:
            # First poll: remember where the page is now; old incidents are not news.
            newest = await self._incident_page(1)
            start = max((IncidentCursor.of(i) for i in newest), default=IncidentCursor.beginning())
            return PollResult(events=[], cursor=str(start))
        since = IncidentCursor.parse(cursor)
        fresh: list[dict[str, Any]] = []
        for page in range(1, MAX_POLL_PAGES + 1):
            batch = await self._incident_page(page)
            newer = [i for i in batch if IncidentCursor.of(i) > since]
            fresh += newer
            if len(batch) < POLL_PAGE_SIZE or len(newer) < len(batch):
                break  # newest first: a page holding an already-seen incident is the last we need
        fresh.sort(key=IncidentCursor.of)
        events = [self._created_event(i) for i in fresh]
        return PollResult(events=events, cursor=str(IncidentCursor.of(fresh[-1])) if fresh else cursor)

    async def _incident_page(self, page: int) -> list[dict[str, Any]]:
        resp = await self.client.get(
            self.expand_path("pages/{page_id}/incidents"), params={"limit": POLL_PAGE_SIZE, "page": page}
        )
        items: list[dict[str, Any]] = resp.json() or []
        return items

    def _created_event(self, incident: dict[str, Any]) -> TriggerEvent:
        return TriggerEvent(
            trigger_id="incident_created",
            payload=Incident.from_api(incident).model_dump(mode="json"),
            occurred_at=IncidentCursor.of(incident).created_at,
            dedupe_key=f"statuspage:{self.context.config.get('page_id')}:incident:{incident['id']}",
        )


def _document(incident: dict[str, Any]) -> ContentDocument:
    updates = incident.get("incident_updates") or []
    text = "\n\n".join(f"{u.get('status', '')}: {u.get('body', '')}".strip() for u in updates)
    return ContentDocument(
        id=str(incident["id"]),
        title=str(incident["name"]),
        text=text,
        url=incident.get("shortlink"),
        updated_at=parse_time(incident.get("updated_at") or incident["created_at"]),
        metadata={"status": incident.get("status"), "impact": incident.get("impact")},
    )


def _sortable(value: datetime | None) -> datetime:
    return value if value is not None else datetime.min.replace(tzinfo=UTC)
