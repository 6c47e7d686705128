"""The developer portal (/portal): server-rendered pages in Chinese and English over the sandbox's own services.

Sessions are rows (gateway/portal/models.py) named by an HttpOnly, SameSite=Lax cookie; every POST carries the
session's CSRF token in a hidden field (before sign-in, a double-submit cookie plays that part) or gets a 403.
Routes are thin: they read the form, call PortalService or the services the sandbox API calls, and render.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from gateway.consent.texts import REPAYMENT_METHODS, label
from gateway.oauth.authorization_journey import SignInFailed
from gateway.portal.quickstart import sandbox_basic_quickstart
from gateway.portal.service import (
    CLASSROOM_MAX_CSV_BYTES,
    FormErrors,
    PortalService,
    SignedIn,
    credentials_csv,
    parse_team_names,
)
from gateway.portal.texts import TEXT, choose_language, translate
from gateway.proxy.rate_limit import DEFAULT_RATE_PER_S
from gateway.sandbox import inspectors_api
from gateway.sandbox.apps_api import registered_rate_per_s
from openbank_kit.errors import OBIEError
from openbank_kit.faults import KNOWN_FAULTS
from openbank_kit.http_client import ServiceCallError
from sandbox_data import PERSONAS, SANDBOX_OTP, SANDBOX_PASSWORD

router = APIRouter(prefix="/portal", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
SESSION_COOKIE = "ob_portal"
ANONYMOUS_CSRF_COOKIE = "ob_portal_csrf"
LANG_COOKIE = "lang"
MAX_UPLOAD_BYTES = 256 * 1024  # a JWKS or a team CSV; the CSV's own limit (64 KiB) is said on the page
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                                      "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"}  # fmt: skip


async def portal_service(request: Request) -> PortalService:
    return request.app.state.portal


PortalDep = Annotated[PortalService, Depends(portal_service)]


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form: text fields as str, uploaded files as their text (bounded), empty uploads left out."""
    form = await request.form(max_files=2, max_fields=50)
    values: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read(MAX_UPLOAD_BYTES + 1)
            if content:
                values[key] = content
        elif key in values:  # a repeated field (checkboxes): all its values, in order
            values[key] = [*(values[key] if isinstance(values[key], list) else [values[key]]), value]
        else:
            values[key] = value
    return values


FormDep = Annotated[dict, Depends(form_data)]


# --- rendering ---------------------------------------------------------------------------------------------
def _lang(request: Request) -> str:
    return choose_language(
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def _render(request: Request, name: str, signed_in: SignedIn | None, status_code: int = 200,
            **context: Any) -> HTMLResponse:  # fmt: skip
    lang = _lang(request)
    # Before sign-in the CSRF token is a double-submit cookie: the form field must equal it.
    anonymous_csrf = None if signed_in else request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    new_anonymous_csrf = None if signed_in or anonymous_csrf else secrets.token_urlsafe(24)
    context.update(
        lang=lang, t=TEXT[lang], tr=lambda key: translate(lang, key), signed_in=signed_in,
        csrf=signed_in.session.csrf_token if signed_in else (anonymous_csrf or new_anonymous_csrf),
        here=request.url.path, repayment=lambda key: label(REPAYMENT_METHODS, key, lang),
    )  # fmt: skip
    response = templates.TemplateResponse(request, name, context, status_code=status_code, headers=HEADERS)
    if new_anonymous_csrf:
        response.set_cookie(ANONYMOUS_CSRF_COOKIE, new_anonymous_csrf, path="/portal", httponly=True,
                            samesite="lax", secure=_secure(request))  # fmt: skip
    return response


def _secure(request: Request) -> bool:
    return request.app.state.settings.issuer.startswith("https:")


def _error(request: Request, signed_in: SignedIn | None, status_code: int, message: str) -> HTMLResponse:
    return _render(request, "error.html", signed_in, status_code, message=message)


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, 303, headers={"Cache-Control": "no-store"})


def _signed_in(request: Request, portal: PortalService) -> SignedIn | None:
    return portal.session_of(request.cookies.get(SESSION_COOKIE))


def _csrf_ok(request: Request, form: dict, signed_in: SignedIn | None) -> bool:
    expected = signed_in.session.csrf_token if signed_in else request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    sent = form.get("csrf")
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


def _guarded(request: Request, portal: PortalService, form: dict | None = None) -> SignedIn | Response:
    """The signed-in developer, or the response to send instead (sign-in page, or 403 for a bad CSRF token)."""
    signed_in = _signed_in(request, portal)
    if signed_in is None:
        return _redirect("/portal/sign-in")
    if form is not None and not _csrf_ok(request, form, signed_in):
        return _error(request, signed_in, 403, "csrf_failed")
    return signed_in


def _text(form: dict, name: str) -> str:
    value = form.get(name, "")
    if isinstance(value, list):
        value = value[-1]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _texts(form: dict, name: str) -> list[str]:
    value = form.get(name, [])
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def _session_response(response: Response, request: Request, secret: str) -> Response:
    response.set_cookie(SESSION_COOKIE, secret, path="/portal", httponly=True, samesite="lax",
                        secure=_secure(request), max_age=8 * 3600)  # fmt: skip
    return response


# --- language --------------------------------------------------------------------------------------------
@router.get("/lang/{lang}")
def switch_language(lang: str, request: Request, next: str = "/portal") -> Response:
    if not next.startswith("/portal") or "//" in next or "\\" in next:
        next = "/portal"  # only our own pages: no open redirect
    response = _redirect(next)
    if lang in TEXT:
        response.set_cookie(LANG_COOKIE, lang, path="/", max_age=365 * 86400, samesite="lax")
    return response


# --- accounts --------------------------------------------------------------------------------------------
@router.get("")
def dashboard(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    tenant_id = signed_in.developer.tenant_id
    return _render(request, "dashboard.html", signed_in, now=portal.tenants.clock(tenant_id).isoformat(),
                   apps=portal.apps(tenant_id))  # fmt: skip


@router.get("/sign-up")
def sign_up_page(request: Request, portal: PortalDep) -> Response:
    return _render(request, "sign_up.html", None, errors={}, values={}, closed=not portal.open_signup)


@router.post("/sign-up")
def sign_up(request: Request, portal: PortalDep, form: FormDep) -> Response:
    if not _csrf_ok(request, form, None):
        return _error(request, None, 403, "csrf_failed")
    values = {name: _text(form, name) for name in ("email", "team")}
    if not portal.open_signup:
        return _render(request, "sign_up.html", None, 403, errors={"": "signup_closed"}, values=values,
                       closed=True)  # fmt: skip
    try:
        signed_in = portal.sign_up(values["email"], _text(form, "password"), values["team"])
    except FormErrors as exc:
        return _render(request, "sign_up.html", None, 400, errors=exc.errors, values=values, closed=False)
    except OBIEError as exc:
        return _render(request, "sign_up.html", None, exc.status_code, errors={"": exc.message},
                       values=values, closed=False)  # fmt: skip
    return _session_response(_redirect("/portal"), request, signed_in.session_secret)


@router.get("/sign-in")
def sign_in_page(request: Request, portal: PortalDep) -> Response:
    return _render(request, "sign_in.html", None, errors={}, values={})


@router.post("/sign-in")
def sign_in(request: Request, portal: PortalDep, form: FormDep) -> Response:
    if not _csrf_ok(request, form, None):
        return _error(request, None, 403, "csrf_failed")
    values = {"email": _text(form, "email")}
    try:
        signed_in = portal.sign_in(values["email"], _text(form, "password"))
    except FormErrors as exc:
        return _render(request, "sign_in.html", None, 401, errors=exc.errors, values=values)
    return _session_response(_redirect("/portal"), request, signed_in.session_secret)


@router.post("/sign-out")
def sign_out(request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    portal.sign_out(signed_in.session_secret)
    response = _redirect("/portal/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response


# --- apps ------------------------------------------------------------------------------------------------
@router.get("/apps")
def list_apps(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    return _render(request, "apps.html", signed_in, apps=portal.apps(signed_in.developer.tenant_id))


@router.get("/apps/new")
def new_app_page(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    return _render(request, "app_new.html", signed_in, errors={}, values={"profile": "fapi2",
                                                                        "key_source": "generate"})  # fmt: skip


@router.post("/apps")
def create_app(request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    fields = ("name", "redirect_uris", "profile", "key_source", "jwks", "jwks_file")
    values = {name: _text(form, name) for name in fields}
    try:
        credentials = portal.create_app(signed_in.developer.tenant_id, values)
    except FormErrors as exc:
        return _render(request, "app_new.html", signed_in, 400, errors=exc.errors, values=values)
    return _credentials_page(request, portal, signed_in, credentials, 201)


def _credentials_page(request, portal, signed_in, credentials, status_code) -> Response:
    app = portal.app(signed_in.developer.tenant_id, credentials.client_id)
    downloads = {}
    if credentials.private_jwk:
        jwk_json = json.dumps(credentials.private_jwk, indent=2)
        downloads = {"jwk": jwk_json, "jwk_href": "data:application/json;charset=utf-8," + quote(jwk_json),
                     "pem_href": "data:application/x-pem-file;charset=utf-8," + quote(credentials.private_pem)}  # fmt: skip
    return _render(request, "app_credentials.html", signed_in, status_code, app=app, credentials=credentials,
                   downloads=downloads)  # fmt: skip


@router.get("/apps/{client_id}")
def view_app(client_id: str, request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    app = portal.app(signed_in.developer.tenant_id, client_id)
    if app is None:
        return _error(request, signed_in, 404, "not_found")
    return _render(request, "app.html", signed_in, app=app,
                   metadata=json.dumps(app.client_metadata, indent=2, ensure_ascii=False))  # fmt: skip


@router.post("/apps/{client_id}/rotate")
def rotate_app(client_id: str, request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    credentials = portal.rotate(signed_in.developer.tenant_id, client_id)
    if credentials is None:
        return _error(request, signed_in, 404, "not_found")
    return _credentials_page(request, portal, signed_in, credentials, 200)


@router.post("/apps/{client_id}/delete")
def delete_app(client_id: str, request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    if not portal.delete_app(signed_in.developer.tenant_id, client_id):
        return _error(request, signed_in, 404, "not_found")
    return _redirect("/portal/apps")


# --- personas ----------------------------------------------------------------------------------------------
@router.get("/personas")
def personas(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    return _render(request, "personas.html", signed_in, personas=PERSONAS, errors={}, values={},
                   password=SANDBOX_PASSWORD, otp=SANDBOX_OTP, persona_details=True)  # fmt: skip


@router.post("/personas/sign-in")
def persona_sign_in(request: Request, portal: PortalDep, form: FormDep) -> Response:
    """A persona session inside the developer session: the same credential check as the consent pages."""
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    username = _text(form, "username").strip()
    try:
        request.app.state.journey.check_credentials(
            signed_in.developer.tenant_id, username, _text(form, "password"), _text(form, "otp")
        )
    except SignInFailed:
        return _render(request, "personas.html", signed_in, 401, personas=PERSONAS,
                       errors={"persona": "persona_failed"}, values={"username": username},
                       password=SANDBOX_PASSWORD, otp=SANDBOX_OTP, persona_details=True)  # fmt: skip
    portal.set_persona(signed_in, username)
    return _redirect("/portal/personas/me")


@router.get("/personas/me")
def persona_view(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    username = signed_in.session.persona_username
    if not username:
        return _redirect("/portal/personas")
    persona = next((p for p in PERSONAS if p.username == username), None)
    try:
        consents = request.app.state.customer_view.consents(signed_in.developer.tenant_id, username)
    except OBIEError as exc:
        return _error(request, signed_in, exc.status_code, exc.message)
    return _render(request, "persona_me.html", signed_in, username=username, persona=persona,
                   consents=consents["Data"]["Consent"], notice=request.query_params.get("notice"))  # fmt: skip


@router.post("/personas/me/consents/{consent_id}/revoke")
def persona_revoke(consent_id: str, request: Request, portal: PortalDep, form: FormDep) -> Response:
    """The persona withdraws a consent at the bank: CANC at the owning service, and the revocation event."""
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    username = signed_in.session.persona_username
    if not username:
        return _redirect("/portal/personas")
    try:
        request.app.state.customer_view.revoke(signed_in.developer.tenant_id, username, consent_id)
    except OBIEError as exc:
        return _error(request, signed_in, exc.status_code, exc.message)
    return _redirect("/portal/personas/me?notice=revoked")


@router.get("/personas/{username}")
def persona_detail(username: str, request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    try:
        detail = request.app.state.customer_view.persona_detail(signed_in.developer.tenant_id, username)
    except OBIEError as exc:
        return _error(request, signed_in, exc.status_code, exc.message)
    persona = detail["Data"]["Persona"][0]
    return _render(request, "persona.html", signed_in, persona=persona,
                   bureau=json.dumps(persona["Bureau"], indent=2, ensure_ascii=False))  # fmt: skip


@router.post("/personas/sign-out")
def persona_sign_out(request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    portal.set_persona(signed_in, None)
    return _redirect("/portal/personas")


# --- sandbox controls --------------------------------------------------------------------------------------
def _sandbox_page(request, portal, signed_in, status_code=200, **context) -> Response:
    tenant_id = signed_in.developer.tenant_id
    now = portal.tenants.clock(tenant_id).isoformat()
    context.setdefault("errors", {})
    switches = request.app.state.app_settings
    apps = [{"app": app, "switches": switches.switches(tenant_id, app.client_id),
             "registered_rate": registered_rate_per_s(app)} for app in portal.apps(tenant_id)]  # fmt: skip
    return _render(request, "sandbox.html", signed_in, status_code, now=now, apps=apps,
                   known_faults=KNOWN_FAULTS, default_rate=DEFAULT_RATE_PER_S, **context)  # fmt: skip


@router.get("/sandbox")
def sandbox_controls(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    return _sandbox_page(request, portal, signed_in)


@router.post("/sandbox/reset")
def reset_tenant(request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    tenant_id = signed_in.developer.tenant_id
    if _text(form, "confirm").strip() != tenant_id:
        return _sandbox_page(request, portal, signed_in, 400, errors={"confirm": "reset_mismatch"})
    try:
        portal.tenants.reset(tenant_id)
    except OBIEError as exc:
        return _sandbox_page(request, portal, signed_in, exc.status_code, errors={"": exc.message})
    return _sandbox_page(request, portal, signed_in, notice="reset_done")


@router.post("/sandbox/clock")
def advance_clock(request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    tenant_id = signed_in.developer.tenant_id
    seen = {d["DeliveryId"] for d in _deliveries(request, tenant_id) or []}
    try:
        before, after = portal.advance_clock(tenant_id, _text(form, "days"), _text(form, "months"))
    except FormErrors as exc:
        return _sandbox_page(request, portal, signed_in, 400, errors=exc.errors)
    except OBIEError as exc:
        return _sandbox_page(request, portal, signed_in, exc.status_code, errors={"": exc.message})
    ran = [d for d in _deliveries(request, tenant_id) or [] if d["DeliveryId"] not in seen]
    return _sandbox_page(request, portal, signed_in, notice="clock_moved",
                         moved={"before": before.isoformat(), "after": after.isoformat()}, ran=ran)  # fmt: skip


@router.post("/sandbox/apps/{client_id}/faults")
def set_faults(client_id: str, request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    tenant_id = signed_in.developer.tenant_id
    if portal.app(tenant_id, client_id) is None:
        return _error(request, signed_in, 404, "not_found")
    try:
        request.app.state.app_settings.set_faults(tenant_id, client_id, _texts(form, "fault"))
    except OBIEError as exc:
        return _sandbox_page(request, portal, signed_in, 400, errors={f"faults-{client_id}": exc.message})
    return _sandbox_page(request, portal, signed_in, notice="saved")


@router.post("/sandbox/apps/{client_id}/rate-limit")
def set_rate_limit(client_id: str, request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    tenant_id = signed_in.developer.tenant_id
    if portal.app(tenant_id, client_id) is None:
        return _error(request, signed_in, 404, "not_found")
    value = _text(form, "requests_per_second").strip()
    try:
        if not value.isdigit():
            raise FormErrors({f"rate-{client_id}": f"a whole number from 1 to {DEFAULT_RATE_PER_S}"})
        request.app.state.app_settings.set_rate_limit(tenant_id, client_id, int(value))
    except FormErrors as exc:
        return _sandbox_page(request, portal, signed_in, 400, errors=exc.errors)
    except OBIEError as exc:
        return _sandbox_page(request, portal, signed_in, 400, errors={f"rate-{client_id}": exc.message})
    return _sandbox_page(request, portal, signed_in, notice="saved")


# --- inspectors --------------------------------------------------------------------------------------------
@router.get("/inspect/audit")
def audit_log(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    records = request.app.state.audit.recent(signed_in.developer.tenant_id, 200)
    return _render(request, "audit.html", signed_in, records=records)


def _deliveries(request: Request, tenant_id: str) -> list[dict] | None:
    """The tenant's event deliveries from payments' inspector; None when payments cannot be reached."""
    try:
        response = request.app.state.internal_clients["payments"].request(
            "GET", f"/internal/v1/tenants/{tenant_id}/event-deliveries?limit=100"
        )
    except ServiceCallError:
        return None
    return response.json()["Data"]["Delivery"] if response.status_code == 200 else None


def _jwt_parts(token: str | None) -> tuple[dict, dict]:
    """A SET's protected header and claims, for display only (its signature is verified by the partner)."""
    try:
        header, payload, _ = (token or "").split(".")
        decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
        return decode(header), decode(payload)
    except ValueError:
        return {}, {}


@router.get("/inspect/events")
def event_deliveries(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    deliveries = _deliveries(request, signed_in.developer.tenant_id)
    if deliveries is None:
        return _error(request, signed_in, 503, "unavailable")
    rows = []
    for delivery in deliveries:
        header, claims = _jwt_parts(delivery.get("SetJwt"))
        rows.append({**delivery, "header": json.dumps(header, indent=2),
                     "claims": json.dumps(claims, indent=2, ensure_ascii=False)})  # fmt: skip
    return _render(request, "events.html", signed_in, deliveries=rows,
                   notice=request.query_params.get("notice"))  # fmt: skip


@router.post("/inspect/events/{delivery_id}/redeliver")
def redeliver(delivery_id: str, request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    tenant_id = signed_in.developer.tenant_id
    try:
        response = request.app.state.internal_clients["payments"].request(
            "POST", f"/internal/v1/tenants/{tenant_id}/event-deliveries/{quote(delivery_id)}/redeliver"
        )
    except ServiceCallError:
        return _error(request, signed_in, 503, "unavailable")
    if response.status_code == 404:
        return _error(request, signed_in, 404, "not_found")
    if response.status_code >= 300:
        return _error(request, signed_in, response.status_code, response.text[:300])
    return _redirect("/portal/inspect/events?notice=redelivered")


def _tenant(portal: PortalService, signed_in: SignedIn):
    return portal.tenants.get_active(signed_in.developer.tenant_id)


@router.get("/inspect/loan-decisions")
def loan_decisions(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    try:
        found = inspectors_api.list_loan_decisions(request, _tenant(portal, signed_in), 100)
    except OBIEError as exc:
        return _error(request, signed_in, exc.status_code, exc.message)
    return _render(request, "loan_decisions.html", signed_in, decisions=found["Data"]["Decision"])


@router.get("/inspect/loan-decisions/{decision_id}")
def loan_decision(decision_id: str, request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    try:
        found = inspectors_api.get_loan_decision(decision_id, request, _tenant(portal, signed_in))
    except OBIEError as exc:
        return _error(request, signed_in, exc.status_code, exc.message)
    decision = found["Data"]["Decision"][0]
    pretty = lambda value: json.dumps(value, indent=2, ensure_ascii=False)  # noqa: E731
    return _render(request, "loan_decision.html", signed_in, decision=decision, pretty=pretty)


@router.get("/inspect/idempotency")
def idempotency_records(request: Request, portal: PortalDep, service: str | None = None) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    if service not in (None, "", *inspectors_api.IDEMPOTENCY_SERVICES):
        return _error(request, signed_in, 404, "not_found")
    try:
        found = inspectors_api.list_idempotency_records(
            request, _tenant(portal, signed_in), service or None, 100
        )
    except OBIEError as exc:
        return _error(request, signed_in, exc.status_code, exc.message)
    return _render(request, "idempotency.html", signed_in, records=found["Data"]["IdempotencyRecord"],
                   service=service or "", services=inspectors_api.IDEMPOTENCY_SERVICES)  # fmt: skip


# --- quickstart --------------------------------------------------------------------------------------------
@router.get("/quickstart")
def quickstart(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    developer = signed_in.developer
    basic_apps = [a for a in portal.apps(developer.tenant_id) if a.profile == "sandbox-basic"]
    wanted = request.query_params.get("client_id")
    app = next((a for a in basic_apps if a.client_id == wanted), basic_apps[0] if basic_apps else None)
    guide = None
    if app is not None:
        redirect_uri = (app.client_metadata.get("redirect_uris") or ["http://127.0.0.1:8080/callback"])[0]
        guide = sandbox_basic_quickstart(request.app.state.settings.issuer, developer.initial_access_token,
                                         app.client_id, "paste-your-client-secret", redirect_uri)  # fmt: skip
    return _render(request, "quickstart.html", signed_in, app=app, guide=guide,
                   issuer=request.app.state.settings.issuer)  # fmt: skip


# --- classroom ---------------------------------------------------------------------------------------------
@router.get("/classroom")
def classrooms(request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    return _render(request, "classrooms.html", signed_in, errors={}, values={},
                   classrooms=portal.classrooms(signed_in.developer.developer_id))  # fmt: skip


@router.post("/classroom")
def create_classroom(request: Request, portal: PortalDep, form: FormDep) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    values = {"name": _text(form, "name"), "team_count": _text(form, "team_count")}
    csv_bytes = form.get("teams_csv") if isinstance(form.get("teams_csv"), bytes) else None
    try:
        if csv_bytes is not None and len(csv_bytes) > CLASSROOM_MAX_CSV_BYTES:
            raise FormErrors({"teams_csv": f"the file is larger than {CLASSROOM_MAX_CSV_BYTES // 1024} KiB"})
        names = parse_team_names(csv_bytes, values["team_count"])
        result = portal.create_classroom(signed_in.developer.developer_id, values["name"], names)
    except FormErrors as exc:
        return _render(request, "classrooms.html", signed_in, 400, errors=exc.errors, values=values,
                       classrooms=portal.classrooms(signed_in.developer.developer_id))  # fmt: skip
    return _redirect(f"/portal/classroom/{result.classroom.classroom_id}")


@router.get("/classroom/{classroom_id}")
def classroom_sheet(classroom_id: str, request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    result = portal.classroom(signed_in.developer.developer_id, classroom_id)
    if result is None:
        return _error(request, signed_in, 404, "not_found")
    return _render(request, "classroom.html", signed_in, result=result, issuer=request.app.state.settings.issuer,
                   notice=request.query_params.get("notice"))  # fmt: skip


@router.get("/classroom/{classroom_id}/credentials.csv")
def classroom_csv(classroom_id: str, request: Request, portal: PortalDep) -> Response:
    signed_in = _guarded(request, portal)
    if isinstance(signed_in, Response):
        return signed_in
    result = portal.classroom(signed_in.developer.developer_id, classroom_id)
    if result is None:
        return _error(request, signed_in, 404, "not_found")
    return Response(credentials_csv(result), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{classroom_id}-credentials.csv"',
        "Cache-Control": "no-store"})  # fmt: skip


@router.post("/classroom/{classroom_id}/teams/{position}/reset")
def reset_team(
    classroom_id: str, position: int, request: Request, portal: PortalDep, form: FormDep
) -> Response:
    signed_in = _guarded(request, portal, form)
    if isinstance(signed_in, Response):
        return signed_in
    team = portal.reset_team(signed_in.developer.developer_id, classroom_id, position)
    if team is None:
        return _error(request, signed_in, 404, "not_found")
    return _redirect(f"/portal/classroom/{classroom_id}?notice=team_reset")
