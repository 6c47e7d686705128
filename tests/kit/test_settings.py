from __future__ import annotations

import pytest

from openbank_kit.db import database_location
from openbank_kit.settings import SettingsError, load_settings


def test_bad_values_name_their_variable(monkeypatch):
    monkeypatch.setenv("OPENBANK_LOANS_PORT", "70000")
    monkeypatch.setenv("OPENBANK_ISSUER", "http://127.0.0.1:8000/")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "OPENBANK_LOANS_PORT" in str(raised.value)
    assert "OPENBANK_ISSUER" in str(raised.value)


def test_unsupported_database_url_is_refused(monkeypatch):
    monkeypatch.setenv("OPENBANK_DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(SettingsError, match="OPENBANK_DATABASE_URL"):
        load_settings()


def test_each_service_gets_its_own_sqlite_file_or_postgresql_schema(tmp_path):
    sqlite = load_settings(var_dir=tmp_path, database_url=None)
    assert database_location("loans", sqlite) == (f"sqlite:///{tmp_path / 'loans.db'}", None)
    pg = load_settings(database_url="postgresql://root@127.0.0.1:5432/openbank")
    assert database_location("accounts", pg) == (
        "postgresql+psycopg://root@127.0.0.1:5432/openbank",
        "accounts",
    )


def test_service_urls_default_to_loopback_ports_and_can_be_overridden():
    settings = load_settings(host="0.0.0.0", payments_url="http://payments:8102/")
    assert settings.url_of("accounts") == "http://127.0.0.1:8101"
    assert settings.url_of("payments") == "http://payments:8102"
