"""FastAPI building blocks shared by every service."""

from hub_common.web.app import create_app
from hub_common.web.auth import Principal, Tier
from hub_common.web.health import ReadinessCheck

__all__ = ["Principal", "ReadinessCheck", "Tier", "create_app"]
