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
# A copy of an OAuth app's client secret for verifying the webhooks the provider signs with it
# (Atlassian's JWTs, docs/adr/0030): written by oauth, readable by webhooks only. Each copy is
# ``<this>-v<n>``, a new name per rotation.
CLIENT_SECRET_WEBHOOKS = "client_secret.webhooks"


def secondary(base: str, name: str) -> str:
    """A secondary credential of the same kind, e.g. Slack's user token: ``access_token.user``."""
    return f"{base}.{name}"
