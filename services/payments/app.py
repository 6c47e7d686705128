"""The payments process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from openbank_kit.clock import SeenOffsets
from openbank_kit.db import Database
from openbank_kit.http_client import ServiceClient, internal_client
from openbank_kit.service_app import create_service_app
from openbank_kit.settings import load_settings
from services.payments.api import ROUTERS, domestic_payments
from services.payments.events.service import Dispatcher
from services.payments.events.signing import EventSigner
from services.payments.models import TENANT_TABLES
from services.payments.scheduling import run_due as run_due_orders
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
        on_started=_start_events,
        on_stopped=_stop,
        hot_routes=[("POST", "/open-banking/v4.0/pisp/domestic-payments", domestic_payments.create_payment)],
    )
    app.state.clock_offsets = SeenOffsets()  # the async payment path's guess of each tenant's clock
    token = app.state.internal_token
    # The ledger lives in accounts; every call carries the internal token.
    app.state.accounts_client = accounts_client or internal_client(settings, "accounts", token)
    app.state.service_clients.append(app.state.accounts_client)  # its async connections close with the app
    # The sandbox clock moved: finish interrupted payments, settle those in clearing, execute due orders.
    app.state.on_clock_moved = lambda tenant_id: (
        run_clock_moved(app.state.db, app.state.accounts_client, tenant_id),
        run_due_orders(
            app.state.db, app.state.accounts_client, tenant_id
        ),  # scheduled payments, standing orders
    )
    # Events: the SET signer and the push dispatcher (a thread started with the app; tests drive deliver_due).
    app.state.event_signer = EventSigner(app.state.db)
    app.state.event_long_poll_s = _setting(settings, "event_long_poll_s")
    app.state.event_dispatcher = Dispatcher(
        app.state.db, app.state.event_signer, settings.issuer,
        max_attempts=_setting(settings, "event_max_attempts"), backoff_s=_setting(settings, "event_backoff_s"),
        timeout_s=_setting(settings, "event_timeout_s"), lease_s=_setting(settings, "event_lease_s"),
    )  # fmt: skip
    return app


def _setting(settings, name: str):
    """Payments' own setting; the defaults of PaymentsSettings when given the shared KitSettings (tests)."""
    return getattr(settings, name, PaymentsSettings.model_fields[name].default)


def _start_events(app: FastAPI) -> None:
    interval = _setting(app.state.settings, "event_dispatch_interval_s")
    if interval > 0:
        app.state.event_dispatcher.start(interval)


def _stop(app: FastAPI) -> None:
    app.state.event_dispatcher.close()
    app.state.accounts_client.close()
