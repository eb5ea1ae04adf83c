"""The pure parts of the local Kafka: config rendering, the jar cache check, command lines."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from string import Template

from hubctl.ports import StackPorts
from hubctl.stack.common import HOST, StackError
from hubctl.stack.packages import require_tool

POM_HASH_FILE = ".pom-sha256"
JAVA_HINT = "install a JDK 17+ (apt-get install openjdk-17-jre-headless)"
MVN_HINT = "install Maven to fetch the Kafka jars (apt-get install maven)"
MIN_JAVA = 17
HEAP = ("-Xms256m", "-Xmx512m")


def render_server_properties(
    template: str,
    *,
    data_dir: Path,
    host: str = HOST,
    broker_port: int | None = None,
    controller_port: int | None = None,
) -> str:
    ports = StackPorts.from_env()
    broker_port = ports.kafka if broker_port is None else broker_port
    controller_port = ports.kafka_controller if controller_port is None else controller_port
    try:
        return Template(template).substitute(
            host=host,
            broker_port=broker_port,
            controller_port=controller_port,
            log_dirs=str(data_dir),
        )
    except (KeyError, ValueError) as exc:
        raise StackError(f"server.properties.template: bad placeholder {exc}") from exc


def broker_port() -> int:
    """19092 unless HUB_KAFKA_PORT says otherwise."""
    return StackPorts.from_env().kafka


def controller_port() -> int:
    """19093 unless HUB_KAFKA_CONTROLLER_PORT says otherwise."""
    return StackPorts.from_env().kafka_controller


def pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def libs_need_fetch(libs: Path, pom: Path) -> bool:
    """Fetch when the jar folder is missing, empty, or was filled from another pom."""
    try:
        stored = (libs / POM_HASH_FILE).read_text().strip()
    except OSError:
        return True
    return stored != pom_digest(pom) or not any(libs.glob("kafka_*.jar"))


def new_cluster_id() -> str:
    """Kafka's format: URL-safe base64 of a random UUID's 16 bytes, without padding."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def java_major(version_output: str) -> int | None:
    """17 from 'openjdk version "17.0.15" ...'; 8 from the old '1.8.0_292' style."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if m is None:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def require_java() -> str:
    return require_tool("java", JAVA_HINT)


def require_mvn() -> str:
    return require_tool("mvn", MVN_HINT)


def classpath(libs: Path) -> str:
    return f"{libs}/*"  # expanded by the JVM itself, not by a shell


def format_command(java: str, libs: Path, log4j: Path, config: Path, cluster_id: str) -> list[str]:
    # "--cluster-id=ID" in one argument: a base64 id may start with '-' and look like an option.
    return [
        java,
        "-cp",
        classpath(libs),
        f"-Dlog4j2.configurationFile={log4j}",
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={cluster_id}",
        "-c",
        str(config),
    ]


def server_command(java: str, libs: Path, log4j: Path, config: Path) -> list[str]:
    return [
        java,
        *HEAP,
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        # Log4j's own shutdown hook would stop logging before Kafka's last shutdown lines.
        "-Dlog4j2.shutdownHookEnabled=false",
        "-cp",
        classpath(libs),
        f"-Dlog4j2.configurationFile={log4j}",
        "kafka.Kafka",
        str(config),
    ]


def fetch_command(mvn: str, pom: Path, output: Path) -> list[str]:
    return [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={output}",
        "-DincludeScope=runtime",
    ]
