"""Alembic, one migration history per service, run programmatically (no alembic.ini to keep in step).

On PostgreSQL each service lives in its own schema; a transaction-scoped advisory lock keeps replicas that start
together from migrating at the same time.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, text

from openbank_kit.db import Database


def alembic_config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return config


def upgrade(db: Database, migrations_dir: Path) -> None:
    """Bring the service's database to the newest revision."""
    config = alembic_config(migrations_dir)
    with db.write_engine.begin() as connection:
        if db.is_postgresql:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(db.schema.encode())}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_at_head(db: Database, migrations_dir: Path) -> bool:
    head = ScriptDirectory.from_config(alembic_config(migrations_dir)).get_current_head()
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def metadata_of(tables: list[Table]) -> MetaData:
    """A service's own metadata: only its tables (all services share SQLModel's global registry)."""
    metadata = MetaData()
    for table in tables:
        table.to_metadata(metadata)
    return metadata


def run_env(tables: list[Table]) -> None:
    """The body of every service's migrations/env.py."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through openbank_kit.migrations.upgrade (or `openbank migrate`)")
    context.configure(
        connection=connection,
        target_metadata=metadata_of(tables),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
