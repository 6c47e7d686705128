"""Creating and dropping whole PostgreSQL databases (tests and benchmarks get a fresh one each run)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess

from sqlalchemy import create_engine, make_url, text

from openbank_kit.db import postgresql_host

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def fresh_database_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def database_url(admin_url: str, name: str) -> str:
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def _execute_as_admin(admin_url: str, name: str, statement: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"unsafe database name {name!r}")
    admin_database = make_url(admin_url).database or "postgres"
    engine = create_engine(database_url(admin_url, admin_database), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url`; returns its URL."""
    _execute_as_admin(admin_url, name, f'CREATE DATABASE "{name}"')
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    _execute_as_admin(admin_url, name, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pgbench_tps(admin_url: str, clients: int, seconds: int) -> float:
    """pgbench's TPC-B-like rate (scale 1) on the server of `admin_url`, in a database of its own, dropped after.

    The reference figure the benchmarks print beside their own: what this PostgreSQL server does on this machine."""
    name = fresh_database_name("openbank_pgbench")
    url = make_url(create_database(admin_url, name))
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    args = ["-h", postgresql_host(url), "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    try:
        subprocess.run(
            ["pgbench", *args, "-i", "-q", "-s", "1", name], env=env, check=True, capture_output=True
        )
        result = subprocess.run(["pgbench", *args, "-c", str(clients), "-j", "2", "-T", str(seconds), name],
                                env=env, check=True, capture_output=True, text=True)  # fmt: skip
    finally:
        drop_database(admin_url, name)
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    return float(match.group(1)) if match else float("nan")


def settle(database_url_: str) -> None:
    """VACUUM (ANALYZE) every table of a database just filled, then a CHECKPOINT: what a benchmark does before it
    measures (pgbench vacuums too), so that autovacuum and the checkpoint the fill made due do not land in the
    measured run (seen: a three-second stall at 300 decisions/s). CHECKPOINT needs a superuser; without one, it is
    left to the server."""
    engine = create_engine(database_url_, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
            is_superuser = connection.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            )
            if is_superuser.scalar():
                connection.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()
