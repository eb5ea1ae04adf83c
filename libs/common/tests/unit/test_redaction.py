import io
import json
import logging

import pytest

from hub_common.logging import JsonFormatter, RedactingFilter
from hub_common.redaction import REDACTED, redact, redact_text

pytestmark = pytest.mark.unit

# One sample of every secret form the filter claims to remove.
SECRET_SAMPLES = {
    "bearer header": ("Authorization: Bearer abcDEF1234567890xyz", "abcDEF1234567890xyz"),
    "basic header": ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    "github classic": ("token ghp_" + "a" * 36, "ghp_" + "a" * 36),
    "github oauth": ("got gho_" + "B1" * 18, "gho_" + "B1" * 18),
    "github fine-grained": (
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    ),
    "gitlab pat": ("glpat-abcdefghij1234567890", "glpat-abcdefghij1234567890"),
    "slack bot": ("xoxb-1234567890-0987654321-abcdefABCDEF", "xoxb-1234567890-0987654321-abcdefABCDEF"),
    "slack app": ("xapp-1-A0123-456-abcdef0123", "xapp-1-A0123-456-abcdef0123"),
    "openai": ("key sk-proj-abcdefghijklmnopqrstuvwxyz012345", "sk-proj-abcdefghijklmnopqrstuvwxyz012345"),
    "anthropic": ("sk-ant-api03-abcdefghijklmnopqrstuv", "sk-ant-api03-abcdefghijklmnopqrstuv"),
    "linear": ("lin_api_abcdefghijklmnopqrstuvwxyz", "lin_api_abcdefghijklmnopqrstuvwxyz"),
    "notion": ("secret_abcdefghijklmnopqrstuvwxyz0123456789", "secret_abcdefghijklmnopqrstuvwxyz0123456789"),
    "notion ntn": ("ntn_abcdefghijklmnopqrstuvwxyz0123", "ntn_abcdefghijklmnopqrstuvwxyz0123"),
    "atlassian": ("ATATT3xFfGF0abcdefghijklmnop", "ATATT3xFfGF0abcdefghijklmnop"),
    "standard webhooks": ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    "jwt": (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX2hlcmU",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9",
    ),
    "query refresh_token": (
        "POST /token?grant_type=refresh_token&refresh_token=r1-secret-value",
        "r1-secret-value",
    ),
    "form client_secret": ("client_id=abc&client_secret=s3cr3t-val&code=xyz", "s3cr3t-val"),
    "form code": ("grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA", "SplxlOBeZQQYbYS6WxSbIA"),
    "url userinfo": ("postgresql://hub:supersecretpw@db:5432/hub", "supersecretpw"),
}


@pytest.mark.parametrize("name", sorted(SECRET_SAMPLES))
def test_redact_text_removes_every_claimed_form(name: str) -> None:
    text, secret = SECRET_SAMPLES[name]
    out = redact_text(f"before {text} after")
    assert secret not in out
    assert out.startswith("before ") and out.endswith(" after")


@pytest.mark.parametrize(
    "key",
    [
        "Authorization",
        "client_secret",
        "refresh_token",
        "access_token",
        "password",
        "x-api-key",
        "api_key",
        "signing_secret",
        "webhook_secret",
        "Cookie",
        "code_verifier",
        "PRIVATE-TOKEN",
        "clientSecret",
        "accessToken",
        "privateKey",
        "set-cookie",
        "proxy-authorization",
    ],
)
def test_sensitive_keys_are_replaced_whole(key: str) -> None:
    assert redact({key: "innocent-looking"}) == {key: REDACTED}


def test_metadata_keys_and_plain_text_survive() -> None:
    data = {
        "token_type": "Bearer",
        "credential_key": "access_token",
        "status": "active",
        "nested": [{"expires_in": 3600, "scope": "repo user"}],
    }
    assert redact(data) == data
    assert redact_text("connection 7c2 moved to token_invalid") == "connection 7c2 moved to token_invalid"


def test_nested_structures_are_redacted() -> None:
    data = {
        "headers": {"Authorization": "Bearer xyz123456789"},
        "items": ["ghp_" + "z" * 36, {"refresh_token": "r"}],
    }
    out = redact(data)
    assert out["headers"]["Authorization"] == REDACTED
    assert "ghp_" not in str(out)
    assert out["items"][1]["refresh_token"] == REDACTED


def _log_line(logger_name: str, emit) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger(logger_name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    emit(logger)
    return json.loads(stream.getvalue().strip().splitlines()[-1])


def test_json_log_lines_are_redacted_in_message_args_extras_and_exceptions() -> None:
    token = "gho_" + "Q" * 36

    def emit(logger: logging.Logger) -> None:
        try:
            raise ValueError(f"provider refused {token}")
        except ValueError:
            logger.exception(
                "refresh with %s failed",
                token,
                extra={
                    "client_secret": "cs-123",
                    "headers": {"authorization": f"Bearer {token}"},
                    "connection_id": "c-1",
                },
            )

    line = _log_line("redaction-test", emit)
    raw = json.dumps(line)
    assert token not in raw and "cs-123" not in raw
    assert line["client_secret"] == REDACTED
    assert line["connection_id"] == "c-1"
    assert line["level"] == "error" and line["service"] == "test"
    assert "ValueError" in line["exc"]


def test_bad_format_string_keeps_the_record() -> None:
    line = _log_line("redaction-test-2", lambda lg: lg.info("%s %s", "only-one"))
    assert "only-one" not in line["msg"] or "%s" in line["msg"]


@pytest.mark.parametrize(
    "text,secret",
    [
        ("redis://:s3cretpass@cache:6379/0", "s3cretpass"),
        ("postgresql://hub:ab%2Fcd@db/hub", "ab%2Fcd"),  # RFC 3986: a "/" in a password is encoded
        ("postgresql://hub:p@ss@db/hub", "ss@db"),
        ("oauth_token=abc123xyz&x=1", "abc123xyz"),
        ("x_api_key=abcdef123", "abcdef123"),
        ("{'password': 'hunter2', 'user': 'bob'}", "hunter2"),
        ('{"client_secret": "leak-me-123", "n": 1}', "leak-me-123"),
        ("X-Api-Key: abcdef123456", "abcdef123456"),
    ],
)
def test_secret_shapes_in_text_are_redacted(text, secret):
    assert secret not in redact_text(text)


def test_metadata_that_looks_close_is_kept():
    assert redact_text("status_code=500 error_code=bad token_type=bearer") == (
        "status_code=500 error_code=bad token_type=bearer"
    )


def test_objects_and_header_pairs_in_extra_fields_are_redacted():
    class Url:
        def __str__(self) -> str:
            return "https://api.x/cb?access_token=SECRETTOKEN1"

    out = redact(
        {
            "url": Url(),
            "error": ValueError("upstream said: {'client_secret': 'leak-me-123'}"),
            "headers": [("x-api-key", "k-abcdef123"), ("accept", "application/json")],
            "count": 3,
            "ok": True,
        }
    )
    text = str(out)
    assert "SECRETTOKEN1" not in text and "leak-me-123" not in text and "k-abcdef123" not in text
    assert out["headers"][1] == ["accept", "application/json"] and out["count"] == 3 and out["ok"] is True


@pytest.mark.parametrize(
    "text,secret",
    [
        ("{'x-api-key': 'k-abcdef123'}", "k-abcdef123"),
        ('{"api-key": "abc123xyz"}', "abc123xyz"),
        ("[('x-api-key', 'k-abcdef123'), ('accept', 'json')]", "k-abcdef123"),
        ("[(b'authorization', b'Bearer abcdefghijk')]", "abcdefghijk"),
    ],
)
def test_header_names_in_repr_text_are_redacted(text, secret):
    assert secret not in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "GET https://api.example.com:8443/users/@me failed",  # a port, then an @ in the path
        "https://u:pw@host/a?email=bob@example.com",  # the host stays
    ],
)
def test_urls_keep_what_is_not_a_password(text):
    out = redact_text(text)
    assert ("@me" in out) if "@me" in text else ("@host/a?email=bob@example.com" in out and "pw" not in out)


def test_an_unclosed_quoted_value_full_of_backslashes_is_handled():
    # Exponential once: each backslash doubled the work when the closing quote never came.
    text = '"token": "' + "\\a" * 24
    assert redact_text(text) == text  # nothing to redact (no closing quote), and it returns


# Both directions, as a table: every secret below is redacted, and every ordinary message is
# left exactly as it was (the redactor redacts values, never the words around them).
REDACTED_VALUES = [
    ("GET /v1/items?api-key=3f9c0a1b2c3d&page=2", "3f9c0a1b2c3d"),
    ("GET /v1/items?key=AIzaSyA-abcdefgh", "AIzaSyA-abcdefgh"),
    ("calling https://maps.example/geo?q=x&key=k123456", "k123456"),
    ("secret_key=wJalrXUtnFEMI&region=eu", "wJalrXUtnFEMI"),
    ("Authorization: OAuth 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ("headers={'Authorization': 'OAuth 0123456789abcdef'}", "0123456789abcdef"),
    ("sent OAuth 0123456789abcdef to the provider", "0123456789abcdef"),
    ("authorization: lin_api_short", "lin_api_short"),
    ("Proxy-Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("retrying with token abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"),  # long: a value
    ("Bearer ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOP"),
    ("token s3cr3tvalue", "s3cr3tvalue"),
]
READABLE_MESSAGES = [
    "token refreshed",
    "token refreshed for connection 7c2",
    "token refreshed.",
    "token generation moved during a locked refresh",
    "token endpoint answered malformed JSON",
    "access token refreshed after a 401",
    "Basic authentication failed",
    "the Bearer token expired",
    "oauth refresh failed: token revoked by provider",
    "OAuth callback completed",
    "token rotation finished",
    "authorization: the provider refused",
    "sort_key=name partition-key=3 status_code=502",
    "connection 7c2 moved to token_invalid",
    "digest mismatch on credential.changed",
]


@pytest.mark.parametrize("text,secret", REDACTED_VALUES)
def test_values_are_redacted(text, secret):
    out = redact_text(text)
    assert secret not in out and REDACTED in out


@pytest.mark.parametrize("text", READABLE_MESSAGES)
def test_ordinary_messages_are_left_as_they_are(text):
    assert redact_text(text) == text


def test_the_scheme_and_the_parameter_name_stay_readable():
    assert redact_text("Authorization: OAuth 0123456789abcdef") == f"Authorization: OAuth {REDACTED}"
    assert redact_text("GET /x?api-key=abc123&page=2") == f"GET /x?api-key={REDACTED}&page=2"


@pytest.mark.parametrize(
    "text",
    [
        "token " * 40_000,
        "Authorization: " * 20_000,
        "tokentoken " + "a" * 200_000,
        "token " + "abcdefghijklmnopqrstuvw" * 10_000,
        "key=" * 50_000,
        "x" * 100_000 + "api-key=",
    ],
)
def test_long_adversarial_text_is_handled_in_one_pass(text):
    # Each would take minutes with a backtracking pattern (quadratic in the length); the test
    # session's timeout is the bound, no timing is asserted.
    assert len(redact_text(text)) > 0


def test_one_key_list_for_the_sdk_and_the_hub():
    """hub_common's names are the SDK's (hub_connector_sdk.redaction.SECRET_KEYS) plus the
    vault's own; spelled with hyphens, camelCase or capitals they are the same names."""
    from hub_common.redaction import SENSITIVE_KEYS, is_sensitive_key
    from hub_connector_sdk.redaction import SECRET_KEYS, is_secret_key

    assert SECRET_KEYS <= SENSITIVE_KEYS
    for name in SECRET_KEYS:
        assert is_secret_key(name) and is_sensitive_key(name)
        assert is_sensitive_key(name.replace("_", "-").upper())
    assert is_secret_key("X-Gitlab-Token") and is_secret_key("authorization_code")
    assert is_sensitive_key("Proxy_Authorization") and is_sensitive_key("clientSecret")
