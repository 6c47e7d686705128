"""The app factory every process shares: middleware, error handlers, health, internal tenant routes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI

from openbank_kit.async_db import AsyncDatabase
from openbank_kit.caller import caller_key
from openbank_kit.db import Database
from openbank_kit.errors import install_error_handlers
from openbank_kit.gc_tuning import tune_garbage_collector
from openbank_kit.health import router as health_router
from openbank_kit.hot_routes import Handler, HotRoutes
from openbank_kit.inspect_api import idempotency_router
from openbank_kit.interaction import InteractionIdMiddleware
from openbank_kit.internal_auth import internal_token_for
from openbank_kit.logging import RequestLogMiddleware, configure_logging
from openbank_kit.migrations import upgrade
from openbank_kit.settings import KitSettings
from openbank_kit.tenancy import TenantTables
from openbank_kit.tenant_api import tenant_router
from openbank_kit.whoami import router as whoami_router


def create_service_app(
    *,
    service: str,
    title: str,
    settings: KitSettings,
    db: Database | None,
    tenant_tables: TenantTables,
    migrations_dir: Path,
    routers: Sequence[APIRouter],
    migrate_on_start: bool = True,
    on_started: Callable[[FastAPI], None] | None = None,
    on_stopped: Callable[[FastAPI], None] | None = None,
    inner_middleware: Sequence[type] = (),
    hot_routes: Sequence[tuple[str, str, Handler]] = (),
) -> FastAPI:
    """`inner_middleware` runs inside the interaction-id and request-log middleware (so its responses get both)."""
    db = db or Database(service, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging(service, settings.log_level, json=settings.log_json)
        if migrate_on_start:
            upgrade(db, migrations_dir)
        await app.state.adb.open()  # in this loop: the async pool belongs to the loop that serves requests
        if on_started is not None:
            on_started(app)
        tune_garbage_collector()
        yield
        if on_stopped is not None:
            on_stopped(app)
        for client in app.state.service_clients:  # their aiohttp connections belong to this loop
            await client.aclose()
        await app.state.adb.close()
        db.dispose()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.service = service
    app.state.settings = settings
    app.state.db = db
    app.state.adb = AsyncDatabase(db, settings)  # the async routes' side of the same database
    app.state.service_clients = []  # clients of other services whose async connections close with the app
    app.state.tenant_tables = tenant_tables
    app.state.migrations_dir = migrations_dir
    app.state.internal_token = internal_token_for(settings)
    # The gateway signs callers with this key, the services verify them with it.
    app.state.caller_key = caller_key(app.state.internal_token)
    install_error_handlers(app)
    for middleware in inner_middleware:
        app.add_middleware(middleware)
    if hot_routes:  # inside the interaction-id and request-log middleware, like the routes behind it
        app.add_middleware(HotRoutes, routes=hot_routes)
    # Added last runs first: the interaction id must exist before the request is logged.
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(InteractionIdMiddleware)
    # The service's own routes first: the router tries routes in order, and these carry the traffic.
    for router in routers:
        app.include_router(router)
    app.include_router(health_router)
    app.include_router(tenant_router())
    if service != "gateway":
        app.include_router(whoami_router)
        app.include_router(idempotency_router())
    return app
