"""The async database's connection string: TCP by default, a Unix socket when the URL names its directory."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from openbank_kit.async_db import postgresql_conninfo


def test_tcp_url_keeps_its_host_port_and_credentials() -> None:
    info = conninfo_to_dict(postgresql_conninfo("postgresql+psycopg://bank:s3cret@db.internal:6432/openbank"))
    assert (info["host"], info["port"], info["dbname"], info["user"], info["password"]) == (
        "db.internal", "6432", "openbank", "bank", "s3cret"
    )  # fmt: skip


def test_socket_directory_in_the_query_is_the_host() -> None:
    info = conninfo_to_dict(
        postgresql_conninfo(
            "postgresql+psycopg://postgres@/openbank?host=/var/run/postgresql", options="-cx=1"
        )
    )
    assert (info["host"], info["dbname"], info["options"]) == ("/var/run/postgresql", "openbank", "-cx=1")


def test_no_host_means_the_local_server_over_tcp() -> None:
    assert conninfo_to_dict(postgresql_conninfo("postgresql+psycopg:///openbank"))["host"] == "127.0.0.1"
