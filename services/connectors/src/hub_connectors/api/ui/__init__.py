"""The Integration Manager UI (docs/adr/0029)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from hub_connectors.api.ui.pages import login_redirect, router, ui_error
from hub_connectors.api.ui.session import CsrfRefused, HubUserOnly, LoginRequired


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="ui-static")
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(CsrfRefused, ui_error)
    app.add_exception_handler(HubUserOnly, ui_error)
