"""PostgreSQL: pool factory, migration runner, transactional outbox, consumer dedupe."""

from hub_common.db.database import Database
from hub_common.db.migrations import MigrationSource, common_migrations, migrate
from hub_common.db.outbox import OutboxRelay, write_event
from hub_common.db.pool import create_pool, describe_dsn

__all__ = [
    "Database",
    "MigrationSource",
    "OutboxRelay",
    "common_migrations",
    "create_pool",
    "describe_dsn",
    "migrate",
    "write_event",
]
