"""The pure parts of ``hubctl stack``: config rendering, jar cache, paths, command lines, errors."""

import re
from pathlib import Path

import pytest

from hubctl.stack import StackError, StackPaths, find_repo_root
from hubctl.stack.common import tail
from hubctl.stack.kafka_config import (
    POM_HASH_FILE,
    format_command,
    java_major,
    libs_need_fetch,
    new_cluster_id,
    pom_digest,
    render_server_properties,
    require_java,
    server_command,
)
from hubctl.stack.packages import newest_pg_bin
from hubctl.stack.postgres import PgLayout, render_conf
from hubctl.stack.redis import command as redis_command

pytestmark = pytest.mark.unit

ROOT = find_repo_root(Path(__file__).parent)


@pytest.fixture(autouse=True)
def default_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests check the default ports; a run with moved ports (HUB_*_PORT) must not change them."""
    for name in ("HUB_POSTGRES_PORT", "HUB_KAFKA_PORT", "HUB_KAFKA_CONTROLLER_PORT", "HUB_REDIS_PORT"):
        monkeypatch.delenv(name, raising=False)


def _properties(text: str) -> dict[str, str]:
    pairs = (ln.split("=", 1) for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


# --- server.properties -------------------------------------------------------------------------


def test_server_properties_render_single_node_kraft(tmp_path: Path) -> None:
    template = (ROOT / "deploy/local/kafka/server.properties.template").read_text()
    props = _properties(render_server_properties(template, data_dir=tmp_path / "data"))

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["num.partitions"] == "3"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "true"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "1", key


def test_server_properties_leave_no_placeholder(tmp_path: Path) -> None:
    template = (ROOT / "deploy/local/kafka/server.properties.template").read_text()
    rendered = render_server_properties(template, data_dir=tmp_path, broker_port=29092)
    assert "$" not in rendered
    assert "PLAINTEXT://127.0.0.1:29092" in _properties(rendered)["listeners"]


def test_unknown_placeholder_is_a_stack_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="bad placeholder"):
        render_server_properties("x=${nope}\n", data_dir=tmp_path)


# --- the Kafka jar cache -----------------------------------------------------------------------


@pytest.fixture
def pom(tmp_path: Path) -> Path:
    p = tmp_path / "pom.xml"
    p.write_text("<project>v1</project>")
    return p


def _fill(libs: Path, digest: str) -> None:
    libs.mkdir()
    (libs / "kafka_2.13-4.1.1.jar").write_bytes(b"jar")
    (libs / POM_HASH_FILE).write_text(digest + "\n")


def test_libs_missing_need_fetch(tmp_path: Path, pom: Path) -> None:
    assert libs_need_fetch(tmp_path / "libs", pom)


def test_libs_from_this_pom_are_kept(tmp_path: Path, pom: Path) -> None:
    _fill(tmp_path / "libs", pom_digest(pom))
    assert not libs_need_fetch(tmp_path / "libs", pom)


def test_changed_pom_needs_fetch(tmp_path: Path, pom: Path) -> None:
    _fill(tmp_path / "libs", pom_digest(pom))
    pom.write_text("<project>v2</project>")
    assert libs_need_fetch(tmp_path / "libs", pom)


def test_libs_without_jars_need_fetch(tmp_path: Path, pom: Path) -> None:
    _fill(tmp_path / "libs", pom_digest(pom))
    (tmp_path / "libs" / "kafka_2.13-4.1.1.jar").unlink()
    assert libs_need_fetch(tmp_path / "libs", pom)


def test_pom_digest_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    known = tmp_path / "pom.xml"
    known.write_bytes(b"abc")  # FIPS 180-2's example: SHA-256("abc")
    assert pom_digest(known) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --- Kafka command lines -----------------------------------------------------------------------


def test_cluster_id_is_kafka_format() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)


def test_format_passes_a_dash_leading_cluster_id_as_one_argument(tmp_path: Path) -> None:
    cmd = format_command("java", tmp_path / "libs", tmp_path / "l.p", tmp_path / "s.p", "-AbC")
    assert "--cluster-id=-AbC" in cmd
    assert cmd[cmd.index("format") - 1] == "kafka.tools.StorageTool"
    assert f"{tmp_path / 'libs'}/*" in cmd


def test_server_command_uses_small_heap_and_the_rendered_config(tmp_path: Path) -> None:
    cmd = server_command("java", tmp_path / "libs", tmp_path / "log4j2.properties", tmp_path / "s")
    assert cmd[-2:] == ["kafka.Kafka", str(tmp_path / "s")]
    assert {"-Xms256m", "-Xmx512m", "-XX:+UseG1GC"} <= set(cmd)
    assert f"-Dlog4j2.configurationFile={tmp_path / 'log4j2.properties'}" in cmd


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_292"', 8),
        ("garbage", None),
    ],
)
def test_java_major(output: str, major: int | None) -> None:
    assert java_major(output) == major


def test_missing_java_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError) as err:
        require_java()
    message = str(err.value)
    assert message.startswith("java not found")
    assert "openjdk-17" in message
    assert "\n" not in message


# --- Postgres and Redis ------------------------------------------------------------------------


def test_pg_dir_is_under_var_tmp_keyed_by_the_resolved_checkout(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a")
    layout = PgLayout.for_root(tmp_path / "a")

    assert re.fullmatch(r"/var/tmp/integration-hub-[0-9a-f]{12}", str(layout.base))
    assert layout.data == layout.base / "pgdata"
    assert PgLayout.for_root(tmp_path / "link") == layout  # the same checkout via a symlink
    assert PgLayout.for_root(tmp_path) != layout


def test_pg_conf_binds_loopback_and_tunes_for_tests() -> None:
    layout = PgLayout(Path("/var/tmp/integration-hub-0123456789ab"))
    conf = _properties(render_conf(layout))
    assert conf["listen_addresses"] == "'127.0.0.1'"
    assert conf["port"] == "15432"
    assert conf["unix_socket_directories"] == "'/var/tmp/integration-hub-0123456789ab'"
    for key in ("fsync", "synchronous_commit", "full_page_writes"):
        assert conf[key] == "off"
    assert conf["max_connections"] == "300"
    assert conf["shared_buffers"] == "128MB"


def test_newest_pg_bin_picks_the_highest_major(tmp_path: Path) -> None:
    for version in ("9", "15", "16"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "postgres").write_text("")
    (tmp_path / "17" / "bin").mkdir(parents=True)  # no server binary: not installed
    assert newest_pg_bin(tmp_path) == tmp_path / "16" / "bin"
    assert newest_pg_bin(tmp_path / "none") is None


def test_redis_command_keeps_everything_under_dot_stack(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    cmd = redis_command("redis-server", paths)
    args = dict(zip(cmd[1::2], cmd[2::2], strict=True))
    assert args["--port"] == "16379"
    assert args["--bind"] == "127.0.0.1"
    assert args["--save"] == ""
    assert args["--appendonly"] == "no"
    for key in ("--pidfile", "--logfile", "--dir"):
        assert Path(args[key]).is_relative_to(tmp_path / ".stack")


# --- helpers -----------------------------------------------------------------------------------


def test_find_repo_root_from_a_nested_dir_and_outside(tmp_path: Path) -> None:
    assert find_repo_root(ROOT / "libs" / "hubctl") == ROOT
    with pytest.raises(StackError, match="repository root not found"):
        find_repo_root(tmp_path)


def test_tail_shows_only_the_last_run_without_java_frames(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text(
        "old run error\n=== 2026-01-01 hubctl: starting kafka\n"
        "ERROR Exiting Kafka\njava.lang.RuntimeException: boom\n\tat kafka.Kafka.main\n"
    )
    assert tail(log) == ["ERROR Exiting Kafka", "java.lang.RuntimeException: boom"]
