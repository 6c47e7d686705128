"""The payments process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from openbank_kit.db import Database
from openbank_kit.http_client import ServiceClient, internal_client
from openbank_kit.service_app import create_service_app
from openbank_kit.settings import load_settings
from services.payments.api import ROUTERS
from services.payments.models import TENANT_TABLES
from services.payments.service import run_clock_moved
from services.payments.settings import PaymentsSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(
    settings: PaymentsSettings | None = None,
    db: Database | None = None,
    migrate_on_start: bool = True,
    accounts_client: ServiceClient | None = None,
) -> FastAPI:
    """`accounts_client` replaces the HTTP connection to accounts (tests pass an in-process client)."""
    settings = settings or load_settings(PaymentsSettings)
    app = create_service_app(
        service="payments",
        title="OpenBank Sandbox — payments",
        settings=settings,
        db=db,
        tenant_tables=TENANT_TABLES,
        migrations_dir=MIGRATIONS_DIR,
        routers=ROUTERS,
        migrate_on_start=migrate_on_start,
        on_stopped=lambda app: app.state.accounts_client.close(),
    )
    token = app.state.internal_token
    # The ledger lives in accounts; every call carries the internal token.
    app.state.accounts_client = accounts_client or internal_client(settings, "accounts", token)
    # The sandbox clock moved: finish interrupted payments and settle those in clearing.
    app.state.on_clock_moved = lambda tenant_id: run_clock_moved(
        app.state.db, app.state.accounts_client, tenant_id
    )
    return app
