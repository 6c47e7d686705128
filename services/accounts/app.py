"""The accounts process: the ledger of record and the OBIE v4.0 Account Information API (docs/accounts.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from openbank_kit.clock import SeenOffsets
from openbank_kit.db import Database
from openbank_kit.http_client import internal_client
from openbank_kit.service_app import create_service_app
from openbank_kit.settings import load_settings
from services.accounts import internal_api
from services.accounts.api import ROUTERS
from services.accounts.internal_cashflow import router as cashflow_router
from services.accounts.models import TENANT_TABLES
from services.accounts.settings import AccountsSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
LEDGER_TRANSACTIONS = "/internal/v1/tenants/{tenant_id}/ledger/transactions"


def create_app(
    settings: AccountsSettings | None = None, db: Database | None = None, migrate_on_start: bool = True
) -> FastAPI:
    settings = settings or load_settings(AccountsSettings)
    app = create_service_app(
        service="accounts",
        title="OpenBank Sandbox — accounts",
        settings=settings,
        db=db,
        tenant_tables=TENANT_TABLES,
        migrations_dir=MIGRATIONS_DIR,
        routers=[*ROUTERS, internal_api.router, cashflow_router],
        migrate_on_start=migrate_on_start,
        on_stopped=lambda app: app.state.payments_client.close(),
        hot_routes=[("POST", LEDGER_TRANSACTIONS, internal_api.post_ledger_transaction)],
    )
    app.state.clock_offsets = SeenOffsets()  # the ledger posting's guess of each tenant's clock
    # Consent revocations publish an event through payments' event API (services/accounts/consent_events.py).
    app.state.payments_client = internal_client(settings, "payments", app.state.internal_token)
    return app
