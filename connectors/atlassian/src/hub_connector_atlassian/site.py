"""``AtlassianConnector``: what the Jira and Confluence connectors share on top of the SDK's
``BaseConnector`` — where a call goes (``ex/<product>/<cloud_id>/`` with OAuth, the site itself
with an API token), Atlassian error bodies as action errors, and a health check that names the
account and the site."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from hub_connector_atlassian import common
from hub_connector_sdk import (
    BaseConnector,
    ConnectorError,
    ConnectorHealth,
    CredentialsRejected,
    GatewayError,
    ProviderError,
    ProviderResponse,
)


class AtlassianConnector(BaseConnector):
    product: ClassVar[str]  # "jira" | "confluence": the ex/<product>/ path and the site's scopes
    api_root: ClassVar[str]  # "rest/api/3/" | "wiki/api/v2/"
    identity_path: ClassVar[str]  # the current user, relative to the site
    uses_sites: ClassVar[bool] = True  # False: API token, the base URL is the site

    async def prefix(self) -> str:
        if not self.uses_sites:
            return ""
        site = await common.choose_site(
            self.client, self.context.connection_id, self.context.config, self.product
        )
        return common.site_prefix(self.product, site.id)

    async def call(self, method: str, path: str, *, root: str | None = None, **kw: Any) -> ProviderResponse:
        """``path`` under ``api_root`` (or ``root``) on the connection's site; Atlassian's
        error answers raise ``atlassian_error``."""
        full = await self.prefix() + (self.api_root if root is None else root) + path
        resp = await self.client.request(method, full, raise_for_status=False, **kw)
        if not resp.ok:
            raise common.atlassian_error(resp)
        return resp

    def identity(self, body: Mapping[str, Any]) -> dict[str, str]:
        return {
            "id": str(body.get("accountId", "")),
            "name": str(body.get("displayName", "")),
            "email": str(body.get("emailAddress", "") or body.get("email", "") or ""),
        }

    async def health_check(self) -> ConnectorHealth:
        """The current user on the connection's site; the account and (OAuth) the site."""
        started = time.perf_counter()
        account: dict[str, str] = {}
        try:
            if self.uses_sites:
                site = await common.choose_site(
                    self.client, self.context.connection_id, self.context.config, self.product
                )
                if not site.url:  # a configured cloud id: name the site for the UI
                    sites = await common.accessible_sites(self.client, self.context.connection_id)
                    site = next((s for s in sites if s.id == site.id), site)
                account.update({"cloud_id": site.id, "site": site.url, "site_name": site.name})
            body = (await self.call("GET", self.identity_path, root="")).json() or {}
        except CredentialsRejected as exc:
            return self._health(False, started, exc.message, invalid=True)
        except GatewayError as exc:
            return self._health(False, started, exc.message)
        except ProviderError as exc:
            return self._health(False, started, exc.message, invalid=exc.status_code == 403)
        except ConnectorError as exc:
            return self._health(False, started, exc.message)
        account.update(self.identity(body))
        return self._health(True, started, "ok", account={k: v for k, v in account.items() if v})
