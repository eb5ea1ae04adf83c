"""Bad configuration ends a service with one line naming the cause, not a stack trace."""

import os
import subprocess
import sys

import pytest

from hub_common.errors import ConfigurationError
from hub_common.preflight import check_kafka, check_postgres, check_redis
from hub_common.settings import HubSettings

pytestmark = pytest.mark.integration


async def test_unreachable_kafka_is_one_clear_error():
    with pytest.raises(ConfigurationError, match=r"cannot reach Kafka at 127\.0\.0\.1:1 "):
        await check_kafka(HubSettings(kafka_bootstrap="127.0.0.1:1"))


async def test_wrong_dsn_names_the_cause_without_the_password(hub_stack):
    bad_password = hub_stack.postgres_dsn.replace("hub:hub@", "hub:wrong-pw-123@")
    with pytest.raises(ConfigurationError, match="authentication failed") as info:
        await check_postgres(HubSettings(postgres_dsn=bad_password))
    assert "wrong-pw-123" not in str(info.value)
    with pytest.raises(ConfigurationError, match=r"cannot connect to Postgres at 127\.0\.0\.1:1/hub"):
        await check_postgres(HubSettings(postgres_dsn="postgresql://hub:hub@127.0.0.1:1/hub"))


async def test_unreachable_redis_is_one_clear_error():
    with pytest.raises(ConfigurationError, match=r"cannot reach Redis at 127\.0\.0\.1:1"):
        await check_redis(HubSettings(redis_url="redis://127.0.0.1:1/0"))


def test_service_cli_prints_one_line_and_exits_2():
    env = {**os.environ, "HUB_POSTGRES_DSN": "postgresql://hub:hub@127.0.0.1:1/hub"}
    proc = subprocess.run(
        [sys.executable, "-c", "from hub_vault.cli import main; main()", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("hub-vault: error: cannot connect to Postgres at 127.0.0.1:1/hub")
    bad_setting = subprocess.run(
        [sys.executable, "-c", "from hub_vault.cli import main; main()", "migrate"],
        env={**os.environ, "HUB_PORT": "not-a-port"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_setting.returncode == 2
    assert bad_setting.stderr.strip() == (
        "hub-vault: error: invalid setting HUB_PORT: Input should be a valid integer, unable to parse "
        "string as an integer"
    )
