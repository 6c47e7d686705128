"""The gateway process: the only public origin (authorization server, sandbox API, portal, routing)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
from fastapi import FastAPI

from gateway.consent.api import router as consent_router
from gateway.models import TENANT_TABLES
from gateway.oauth.api import router as oauth_router
from gateway.oauth.authorization_journey import AuthorizationJourney
from gateway.oauth.authorization_server import AuthorizationServer
from gateway.oauth.clients import ClientRegistry
from gateway.oauth.event_keys import EventKeys
from gateway.oauth.intents import IntentDirectory
from gateway.oauth.keys import KeyStore
from gateway.oauth.replay_cache import replay_cache_from_url
from gateway.oauth.tokens import AccessTokenIssuer
from gateway.portal.api import router as portal_router
from gateway.portal.service import PortalService, classroom_threads
from gateway.proxy.api import FrontDoorMiddleware
from gateway.proxy.audit import AuditLog
from gateway.proxy.rate_limit import rate_limiter_from_url
from gateway.proxy.upstream import HttpxUpstream, PooledUpstream
from gateway.sandbox.api import router as sandbox_router
from gateway.sandbox.app_settings import AppSettingsStore
from gateway.sandbox.apps_api import router as sandbox_apps_router
from gateway.sandbox.customer_view import CustomerView
from gateway.sandbox.events_api import router as sandbox_events_router
from gateway.sandbox.inspectors_api import router as sandbox_inspectors_router
from gateway.sandbox.large_value_api import router as sandbox_large_value_router
from gateway.sandbox.openapi_api import mount_swagger_assets
from gateway.sandbox.openapi_api import router as sandbox_openapi_router
from gateway.sandbox.personas_api import router as sandbox_personas_router
from gateway.sandbox.ports import HttpTenantPort, LocalTenantPort
from gateway.sandbox.service import TenantService
from gateway.settings import GatewaySettings
from openbank_kit.db import Database
from openbank_kit.http_client import internal_client
from openbank_kit.internal_auth import internal_token_for
from openbank_kit.service_app import create_service_app
from openbank_kit.settings import load_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The sandbox's JSON views and switches for the developer portal (docs/sandbox-api.md).
SANDBOX_DATA_ROUTERS = [sandbox_apps_router, sandbox_personas_router, sandbox_inspectors_router,
                        sandbox_openapi_router, sandbox_large_value_router]  # fmt: skip
BACKEND_SERVICES = ("accounts", "payments", "loans")


def create_app(
    settings: GatewaySettings | None = None,
    db: Database | None = None,
    migrate_on_start: bool = True,
    service_clients: Mapping[str, httpx.Client] | None = None,
) -> FastAPI:
    """`service_clients` replaces the HTTP connections to the services (tests pass in-process clients)."""
    settings = settings or load_settings(GatewaySettings)
    db = db or Database("gateway", settings)
    app = create_service_app(
        service="gateway",
        title="OpenBank Sandbox — gateway",
        settings=settings,
        db=db,
        tenant_tables=TENANT_TABLES,
        migrations_dir=MIGRATIONS_DIR,
        routers=[
            oauth_router,
            consent_router,
            sandbox_router,
            sandbox_events_router,
            *SANDBOX_DATA_ROUTERS,
            portal_router,
        ],  # fmt: skip
        inner_middleware=[FrontDoorMiddleware],
        migrate_on_start=migrate_on_start,
        on_started=_provision_demo if settings.provision_demo else None,
        on_stopped=lambda app: (
            app.state.audit.flush()
        ),  # the last batch of audit records is written before exit
    )
    # The front door's checks wait on nothing but this process, unless its shared state lives in Redis.
    app.state.front_door_checks_wait = bool(settings.redis_url)
    token = internal_token_for(settings)
    clients = service_clients or {}
    ports = [LocalTenantPort("gateway", db, TENANT_TABLES)]
    # The front door's pooled connections to each service (explicit limits and timeouts, no proxies from env).
    app.state.service_http = {
        name: HttpxUpstream(clients[name])
        if name in clients
        else PooledUpstream(settings.url_of(name), settings.internal_timeout_s)
        for name in BACKEND_SERVICES
    }
    app.state.service_clients += list(app.state.service_http.values())  # closed with the app (their loop)
    internal_clients = {
        name: internal_client(settings, name, token, clients.get(name)) for name in BACKEND_SERVICES
    }
    ports += [HttpTenantPort(name, client) for name, client in internal_clients.items()]
    app.state.internal_clients = internal_clients
    app.state.event_keys = EventKeys(internal_clients["payments"])  # payments' SET keys join the JWKS
    app.state.tenant_service = TenantService(db, ports, settings)
    keys = KeyStore(db)
    app.state.rate_limiter = rate_limiter_from_url(settings.redis_url)
    app.state.app_settings = AppSettingsStore(db)
    app.state.audit = AuditLog(db)
    app.state.oauth = AuthorizationServer(
        settings.issuer,
        ClientRegistry(db, settings.issuer),
        AccessTokenIssuer(settings.issuer, keys),
        replay_cache_from_url(settings.redis_url),
        IntentDirectory(internal_clients),
        tenants=app.state.tenant_service,
    )
    app.state.journey = AuthorizationJourney(app.state.oauth, settings.issuer)
    app.state.customer_view = CustomerView(internal_clients, app.state.oauth.clients, settings.issuer)
    mount_swagger_assets(app)
    app.state.portal = PortalService(db, app.state.tenant_service, app.state.oauth.clients, settings.open_signup,
                                     classroom_threads(settings.database_url))  # fmt: skip
    return app


def _provision_demo(app: FastAPI) -> None:
    """Compose start-up: make sure tenant demo exists; its token goes to var/ and the log, once."""
    import structlog

    from openbank_kit.errors import Conflict

    try:
        created = app.state.tenant_service.create("demo")
    except Conflict:
        return
    path = Path(app.state.settings.var_dir) / "demo-initial-access-token"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(created.initial_access_token + "\n")
    structlog.get_logger().info("tenant demo provisioned", initial_access_token=created.initial_access_token)
