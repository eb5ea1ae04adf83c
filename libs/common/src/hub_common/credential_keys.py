"""Names of the credentials the hub keeps in the vault (one place, used by every service).

The vault's policy file grants each service access by these names.
"""

ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
ID_TOKEN = "id_token"
CLIENT_SECRET = "client_secret"
API_KEY = "api_key"
BEARER_TOKEN = "bearer_token"
BASIC_USERNAME = "basic_username"
BASIC_PASSWORD = "basic_password"
WEBHOOK_SECRET = "webhook_secret"


def secondary(base: str, name: str) -> str:
    """A secondary credential of the same kind, e.g. Slack's user token: ``access_token.user``."""
    return f"{base}.{name}"
