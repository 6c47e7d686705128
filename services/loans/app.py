"""The loans process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from openbank_kit.db import Database
from openbank_kit.http_client import ServiceClient, internal_client
from openbank_kit.service_app import create_service_app
from openbank_kit.settings import load_settings
from services.loans.api import ROUTERS, lending
from services.loans.models import TENANT_TABLES
from services.loans.service import DecisionHints, run_due_instalments
from services.loans.settings import LoansSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(
    settings: LoansSettings | None = None,
    db: Database | None = None,
    migrate_on_start: bool = True,
    accounts_client: ServiceClient | None = None,
    payments_client: ServiceClient | None = None,
) -> FastAPI:
    """`accounts_client`/`payments_client` replace the HTTP connections (tests pass in-process clients)."""
    settings = settings or load_settings(LoansSettings)
    app = create_service_app(
        service="loans",
        title="OpenBank Sandbox — loans",
        settings=settings,
        db=db,
        tenant_tables=TENANT_TABLES,
        migrations_dir=MIGRATIONS_DIR,
        routers=ROUTERS,
        migrate_on_start=migrate_on_start,
        on_stopped=_close_clients,
        hot_routes=[("POST", "/lending/v1/applications", lending.create_application)],
    )
    token = app.state.internal_token
    # The ledger and the customers' ledger features live in accounts; every call carries the internal token.
    app.state.decision_hints = DecisionHints()  # per process: see service.create_application
    app.state.accounts_client = accounts_client or internal_client(settings, "accounts", token)
    # Loan events are published through payments' event API (services/loans/loan_events.py). No inline retries:
    # the outbox retries on the next loan operation or clock move, so an outage costs a request nothing.
    app.state.payments_client = payments_client or ServiceClient(
        settings.url_of("payments"),
        timeout_s=settings.internal_timeout_s,
        token_provider=lambda: token,
        max_retries=0,
    )
    app.state.service_clients += [app.state.accounts_client, app.state.payments_client]
    # The sandbox clock moved (the gateway pushed a new offset): collect what fell due.
    app.state.on_clock_moved = lambda tenant_id: run_due_instalments(
        app.state.db, app.state.accounts_client, app.state.payments_client, tenant_id
    )
    return app


def _close_clients(app: FastAPI) -> None:
    app.state.accounts_client.close()
    app.state.payments_client.close()
