"""One OpenAPI document for everything a partner can call through the gateway, and a Swagger UI page for it.

`GET /sandbox/v1/openapi.json` merges the gateway's own OpenAPI (OAuth, sandbox, portal) with each service's
public paths (those under the front door's prefixes, gateway/proxy/api.py ROUTES); internal routes are left out.
Schema names two documents both define differently are prefixed with the service's name, and so are operation ids.
The Swagger UI at `/portal/api-reference` loads its files from `/portal/static/swagger/` (the fastapi-swagger
package's copy of the Swagger UI dist): no CDN.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import fastapi_swagger.resources
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gateway.proxy.api import ROUTES
from openbank_kit.http_client import ServiceCallError

logger = structlog.get_logger("openbank.gateway.openapi")
router = APIRouter(tags=["sandbox: reference"])
SWAGGER_DIR = Path(fastapi_swagger.resources.__file__).parent
SWAGGER_STATIC_PATH = "/portal/static/swagger"
SERVICES = ("accounts", "payments", "loans")
PUBLIC_PREFIXES = tuple(sorted({prefix for prefix, _, _ in ROUTES}))
GATEWAY_HIDDEN_PREFIXES = ("/internal/", "/health")


def _public_paths(paths: dict, prefixes: tuple[str, ...]) -> dict:
    return {path: item for path, item in paths.items() if path.startswith(prefixes) or path.rstrip("/") in
            {p.rstrip("/") for p in prefixes}}  # fmt: skip


def _merge_service(merged: dict, service: str, document: dict) -> None:
    """Add one service's public paths and the schemas they use to the merged document (in place)."""
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    theirs = document.get("components", {}).get("schemas", {})
    renamed = {
        name: f"{service}_{name}"
        for name, schema in theirs.items()
        if name in schemas and schemas[name] != schema
    }
    text = json.dumps({"paths": _public_paths(document.get("paths", {}), PUBLIC_PREFIXES), "schemas": theirs})
    for old, new in renamed.items():  # exact references only: the closing quote stops a prefix match
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    part = json.loads(text)
    for name, schema in part["schemas"].items():
        schemas[renamed.get(name, name)] = schema
    for path, item in part["paths"].items():
        for operation in item.values():
            if isinstance(operation, dict):
                operation["tags"] = [service]
                if "operationId" in operation:
                    operation["operationId"] = f"{service}_{operation['operationId']}"
        merged["paths"][path] = item


def combined_openapi(app: FastAPI) -> dict:
    merged = copy.deepcopy(app.openapi())
    merged["paths"] = {
        p: item for p, item in merged["paths"].items() if not p.startswith(GATEWAY_HIDDEN_PREFIXES)
    }
    merged["info"] = {
        "title": "OpenBank Sandbox — every public API through the gateway",
        "version": merged.get("info", {}).get("version", "0.1.0"),
        "description": "The gateway's own routes (OAuth 2.0 / OIDC, sandbox, portal) and each service's public "
        "API as the front door routes it. Resource calls need a DPoP-bound access token.",
    }
    merged["servers"] = [{"url": app.state.settings.issuer}]
    unavailable = []
    for service in SERVICES:
        try:
            response = app.state.internal_clients[service].get("/openapi.json")
        except ServiceCallError:
            response = None
        if response is None or response.status_code != 200:
            unavailable.append(service)  # the document still serves what is reachable, and says what is not
            logger.warning("openapi_not_merged", service=service)
            continue
        _merge_service(merged, service, response.json())
    merged["paths"] = dict(sorted(merged["paths"].items()))
    if unavailable:
        merged["info"]["x-unavailable-services"] = unavailable
    return merged


@router.get("/sandbox/v1/openapi.json")
def get_combined_openapi(request: Request) -> dict:
    """Public like the portal's pages: the reference is no secret."""
    return combined_openapi(request.app)


@router.get("/portal/api-reference", response_class=HTMLResponse, include_in_schema=False)
def api_reference() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/sandbox/v1/openapi.json",
        title="OpenBank Sandbox — API reference",
        swagger_js_url=f"{SWAGGER_STATIC_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_STATIC_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_STATIC_PATH}/favicon-32x32.png",
    )


def mount_swagger_assets(app: FastAPI) -> None:
    app.mount(SWAGGER_STATIC_PATH, StaticFiles(directory=SWAGGER_DIR), name="swagger-static")
