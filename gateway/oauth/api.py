"""HTTP face of the authorization server: discovery, JWKS, token endpoint, client registration (RFC 7591/7592)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import TenantServiceDep, bearer_token
from gateway.models import OAuthClient, Tenant
from gateway.oauth.authorization_server import AuthorizationServer
from gateway.oauth.clients import SCOPES, ClientRegistry, InvalidClientMetadata
from gateway.oauth.keys import SIGNING_ALGS
from gateway.oauth.rfc7523_client_assertion import CLIENT_ASSERTION_ALGS
from gateway.oauth.rfc9449_dpop import DPOP_SIGNING_ALGS
from openbank_kit.errors import OBIEError

router = APIRouter(tags=["oauth"])
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


async def oauth_server(request: Request) -> AuthorizationServer:
    return request.app.state.oauth


async def client_registry(request: Request) -> ClientRegistry:
    return request.app.state.oauth.clients


OAuthServerDep = Annotated[AuthorizationServer, Depends(oauth_server)]
ClientRegistryDep = Annotated[ClientRegistry, Depends(client_registry)]


def oauth_error(
    status_code: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code, headers=headers)


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> dict:
    issuer = request.app.state.settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "pushed_authorization_request_endpoint": f"{issuer}/oauth2/par",
        "require_pushed_authorization_requests": True,
        "token_endpoint": f"{issuer}/oauth2/token",
        "registration_endpoint": f"{issuer}/oauth2/register",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_ALGS),
        "dpop_signing_alg_values_supported": list(DPOP_SIGNING_ALGS),
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": True,
        "claims_supported": ["sub", "openbanking_intent_id", "acr", "nonce"],
    }


@router.get("/oauth2/jwks")
def jwks(server: OAuthServerDep, request: Request) -> JSONResponse:
    # The gateway's keys, then payments' event-signing keys (SETs are verified against this same jwks_uri).
    keys = [*server.token_issuer.keys.jwks()["keys"], *request.app.state.event_keys.keys()]
    return JSONResponse({"keys": keys}, headers={"Cache-Control": "public, max-age=300"})


async def _single_valued_form(request: Request) -> dict[str, str] | JSONResponse:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        return oauth_error(400, "invalid_request", f"the request must be {FORM_CONTENT_TYPE}")
    items = (await request.form()).multi_items()
    if len({key for key, _ in items}) != len(items):
        return oauth_error(400, "invalid_request", "a parameter was sent more than once")
    return {key: value for key, value in items if isinstance(value, str)}


@router.post("/oauth2/token")
async def token(request: Request, server: OAuthServerDep) -> JSONResponse:
    form = await _single_valued_form(request)
    if isinstance(form, JSONResponse):
        return form
    # Starlette's Headers is case-insensitive, which Authlib's `headers.get("Authorization")` relies on.
    dpop_values = request.headers.getlist("dpop")
    response = await run_in_threadpool(server.token_response, request.headers, dpop_values, form)
    return JSONResponse(response.body, response.status_code, headers=dict(response.headers))


@router.post("/oauth2/par", status_code=201)
async def pushed_authorization_request(request: Request, server: OAuthServerDep) -> JSONResponse:
    form = await _single_valued_form(request)
    if isinstance(form, JSONResponse):
        return form
    dpop_values = request.headers.getlist("dpop")
    response = await run_in_threadpool(server.par_response, request.headers, dpop_values, form)
    return JSONResponse(response.body, response.status_code, headers=dict(response.headers))


@router.post("/oauth2/revoke")
@router.post("/oauth2/introspect")
async def revoke_or_introspect(request: Request, server: OAuthServerDep) -> JSONResponse:
    form = await _single_valued_form(request)
    if isinstance(form, JSONResponse):
        return form
    name = "revocation" if request.url.path.endswith("/revoke") else "introspection"
    response = await run_in_threadpool(
        server.endpoint_response, name, request.url.path, request.headers, form
    )
    return JSONResponse(response.body, response.status_code, headers=dict(response.headers))


def _registering_tenant(request: Request, tenants: TenantServiceDep) -> Tenant | JSONResponse:
    try:
        return tenants.authenticate(bearer_token(request))
    except OBIEError:
        return oauth_error(401, "invalid_token", "registration needs the tenant's initial access token",
                           {"WWW-Authenticate": 'Bearer error="invalid_token"'})  # fmt: skip


async def _json_body(request: Request):
    try:
        return await request.json()
    except ValueError:
        return None


@router.post("/oauth2/register", status_code=201)
@router.post("/sandbox/v1/apps", status_code=201)
async def register_client(
    request: Request, tenants: TenantServiceDep, registry: ClientRegistryDep
) -> JSONResponse:
    tenant = await run_in_threadpool(_registering_tenant, request, tenants)
    if isinstance(tenant, JSONResponse):
        return tenant
    body = await _json_body(request)
    try:
        registered = await run_in_threadpool(registry.register, tenant.tenant_id, body)
    except InvalidClientMetadata as exc:
        return oauth_error(400, exc.error, exc.description)
    row = await run_in_threadpool(registry.get, registered.client_id)
    return JSONResponse(registry.registration_response(registered, row.client_id_issued_at), 201,
                        headers={"Cache-Control": "no-store"})  # fmt: skip


def _configured_client(
    client_id: str, request: Request, registry: ClientRegistry
) -> OAuthClient | JSONResponse:
    row = registry.by_registration_token(client_id, bearer_token(request))
    if row is None:  # unknown client and wrong token look the same: no existence oracle
        return oauth_error(401, "invalid_token", "a valid registration_access_token for this client is required",
                           {"WWW-Authenticate": 'Bearer error="invalid_token"'})  # fmt: skip
    return row


def _configuration(row: OAuthClient, issuer: str) -> dict:
    return {**row.client_metadata, "client_id": row.client_id, "client_id_issued_at": row.client_id_issued_at,
            "registration_client_uri": f"{issuer}/oauth2/register/{row.client_id}"}  # fmt: skip


@router.get("/oauth2/register/{client_id}")
def read_client(client_id: str, request: Request, registry: ClientRegistryDep) -> JSONResponse:
    row = _configured_client(client_id, request, registry)
    if isinstance(row, JSONResponse):
        return row
    return JSONResponse(_configuration(row, registry.issuer), headers={"Cache-Control": "no-store"})


@router.put("/oauth2/register/{client_id}")
async def update_client(client_id: str, request: Request, registry: ClientRegistryDep) -> JSONResponse:
    row = await run_in_threadpool(_configured_client, client_id, request, registry)
    if isinstance(row, JSONResponse):
        return row
    body = await _json_body(request)
    if isinstance(body, dict) and body.get("client_id", client_id) != client_id:
        return oauth_error(400, "invalid_client_metadata", "client_id in the body must match the URL")
    try:
        metadata = await run_in_threadpool(registry.update, row, body)
    except InvalidClientMetadata as exc:
        return oauth_error(400, exc.error, exc.description)
    row.client_metadata = metadata
    return JSONResponse(_configuration(row, registry.issuer), headers={"Cache-Control": "no-store"})


@router.delete("/oauth2/register/{client_id}", status_code=204)
def delete_client(client_id: str, request: Request, registry: ClientRegistryDep) -> Response:
    row = _configured_client(client_id, request, registry)
    if isinstance(row, JSONResponse):
        return row
    registry.delete(client_id)
    return Response(status_code=204)
