"""Test stack: every database fresh per run, on SQLite and (when OPENBANK_TEST_DATABASE_URL is set) PostgreSQL.

`backend` is a session-scoped parameter, so every test that touches a database runs once per backend.
Tests isolate from each other by working in their own tenants, never by relying on leftovers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from openbank_kit import pg_admin
from openbank_kit.settings import KitSettings, load_settings

PG_ADMIN_URL = os.environ.get("OPENBANK_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_ADMIN_URL else ["sqlite"]
TEST_POOL_SIZE = 4  # per pool of each service (the sync engine: twice that with its overflow)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def test_settings(backend, tmp_path_factory) -> Iterator[KitSettings]:
    var_dir = tmp_path_factory.mktemp(f"var-{backend}")
    overrides = {"var_dir": var_dir, "database_url": None, "internal_token": secrets.token_urlsafe(16)}
    name = None
    if backend == "postgresql":
        name = pg_admin.fresh_database_name("openbank_test")
        overrides["database_url"] = pg_admin.create_database(PG_ADMIN_URL, name)
        # The "real" layout: PostgreSQL and Redis together (replay caches, later rate limits).
        overrides["redis_url"] = os.environ.get("OPENBANK_TEST_REDIS_URL")
        # Two workers share one server (100 connections): each service keeps sync and async pools for the session.
        overrides["db_pool_size"] = TEST_POOL_SIZE
    yield load_settings(**overrides)
    if name:
        pg_admin.drop_database(PG_ADMIN_URL, name)


@dataclass
class Stack:
    settings: KitSettings
    gateway: TestClient
    services: dict[str, TestClient]

    @property
    def internal_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.internal_token}"}

    def db(self, service: str):
        client = self.gateway if service == "gateway" else self.services[service]
        return client.app.state.db


@pytest.fixture(scope="session")
def stack(test_settings) -> Iterator[Stack]:
    """The four apps in-process; the gateway reaches the services through their TestClients."""
    from gateway.app import create_app as gateway_app
    from services.accounts.app import create_app as accounts_app
    from services.loans.app import create_app as loans_app
    from services.payments.app import create_app as payments_app

    services = {
        "accounts": TestClient(accounts_app(test_settings)),
        "payments": TestClient(payments_app(test_settings)),
        "loans": TestClient(loans_app(test_settings)),
    }
    for client in services.values():
        client.__enter__()  # runs the lifespan: migrations
    gateway = TestClient(gateway_app(test_settings, service_clients=services))
    gateway.__enter__()
    yield Stack(test_settings, gateway, services)
    gateway.__exit__(None, None, None)
    for client in services.values():
        client.__exit__(None, None, None)
        client.app.state.db.dispose()
    gateway.app.state.db.dispose()


@pytest.fixture
def new_tenant(stack) -> Iterator:
    """Create a tenant through the public sandbox API; returns (tenant_id, initial access token)."""
    created: list[str] = []

    def create(prefix: str = "t") -> tuple[str, str]:
        name = f"{prefix}-{secrets.token_hex(3)}"
        response = stack.gateway.post("/sandbox/v1/tenants", json={"Name": name})
        assert response.status_code == 201, response.text
        created.append(name)
        return name, response.json()["InitialAccessToken"]

    yield create
    for name in created:
        stack.gateway.app.state.tenant_service.delete(name)
