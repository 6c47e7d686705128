"""The payments process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from openbank_kit.db import Database
from openbank_kit.service_app import create_service_app
from openbank_kit.settings import load_settings
from services.payments.api import ROUTERS
from services.payments.models import TENANT_TABLES
from services.payments.settings import PaymentsSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(
    settings: PaymentsSettings | None = None, db: Database | None = None, migrate_on_start: bool = True
) -> FastAPI:
    settings = settings or load_settings(PaymentsSettings)
    return create_service_app(
        service="payments",
        title="OpenBank Sandbox — payments",
        settings=settings,
        db=db,
        tenant_tables=TENANT_TABLES,
        migrations_dir=MIGRATIONS_DIR,
        routers=ROUTERS,
        migrate_on_start=migrate_on_start,
    )
