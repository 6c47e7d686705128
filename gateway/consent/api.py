"""The authorization endpoint and its consent pages (HTML, Chinese and English), and headless authorisation for CI.

Both drive the same `AuthorizationJourney`. The browser holds the interaction's secret in an HttpOnly cookie and
echoes it in each form (double submit), so another site cannot post a decision for the customer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import InitialAccessTenant
from gateway.consent.texts import PERMISSIONS, REPAYMENT_METHODS, TEXT, choose_language, label
from gateway.oauth.authorization_journey import (
    AUTHORIZE_PATH,
    AccountChoiceError,
    AuthorizationJourney,
    AuthorizationRequestError,
    SignInFailed,
)
from gateway.oauth.intents import TemporarilyUnavailableError
from openbank_kit.errors import BadRequest, FieldInvalid, OBIEError, ServiceUnavailable, Unauthorized

router = APIRouter(tags=["authorization"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COOKIE = "ob_authorization"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def journey(request: Request) -> AuthorizationJourney:
    return request.app.state.journey


JourneyDep = Annotated[AuthorizationJourney, Depends(journey)]


def _page(request: Request, name: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.update(
        lang=lang,
        t=TEXT[lang],
        permission=lambda key: label(PERMISSIONS, key, lang),
        repayment=lambda key: label(REPAYMENT_METHODS, key, lang),
    )
    headers = {**NO_STORE, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:",
               "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}  # fmt: skip
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def _lang(request: Request, form_lang: str | None = None) -> str:
    return choose_language(
        form_lang or request.query_params.get("lang"), request.headers.get("accept-language")
    )


def _error_page(
    request: Request, lang: str, error: str, description: str, status_code: int = 400
) -> HTMLResponse:
    return _page(request, "error.html", lang, status_code, error=error, description=description)


@router.get(AUTHORIZE_PATH)
def authorize(request: Request, journey: JourneyDep) -> Response:
    """RFC 6749 §4.1.1 with PAR (RFC 9126): start the journey and send the browser to the sign-in page."""
    lang = _lang(request)
    query = dict(request.query_params)
    if len(request.query_params.multi_items()) != len(query):
        return _error_page(request, lang, "invalid_request", "a parameter was sent more than once")
    try:
        client = journey.client_of(query)
        interaction, secret = journey.start(client, query)
    except AuthorizationRequestError as exc:
        return _error_page(request, lang, exc.error, exc.description)
    except OBIEError as exc:
        return _error_page(request, lang, "invalid_request", exc.message)
    response = RedirectResponse(
        f"{AUTHORIZE_PATH}/{interaction.interaction_id}?lang={lang}", 303, headers=NO_STORE
    )
    response.set_cookie(COOKIE, secret, max_age=600, path=AUTHORIZE_PATH, httponly=True, samesite="lax",
                        secure=request.app.state.settings.issuer.startswith("https:"))  # fmt: skip
    return response


@router.get(AUTHORIZE_PATH + "/{interaction_id}")
def interaction_page(interaction_id: str, request: Request, journey: JourneyDep) -> Response:
    lang = _lang(request)
    secret = request.cookies.get(COOKIE)
    try:
        interaction = journey.resume(interaction_id, secret)
        if not interaction.customer_id:
            return _sign_in_page(request, lang, journey, interaction, secret)
        view = journey.view(interaction)
    except AuthorizationRequestError as exc:
        return _error_page(request, lang, exc.error, exc.description)
    except TemporarilyUnavailableError as exc:
        return _error_page(request, lang, exc.error, exc.description, 503)
    return _page(request, "consent.html", lang, interaction_id=interaction_id, csrf=secret, view=view)


def _sign_in_page(request: Request, lang: str, journey: AuthorizationJourney, interaction, secret: str,
                  failed_as: str | None = None) -> HTMLResponse:  # fmt: skip
    client = journey.server.query_client(interaction.client_id)
    return _page(request, "sign_in.html", lang, 200 if failed_as is None else 401,
                 interaction_id=interaction.interaction_id, csrf=secret, failed=failed_as is not None,
                 client_name=client.metadata.get("client_name", "") if client else "", username=failed_as)  # fmt: skip


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {key: value for key, value in form.items() if isinstance(value, str)}
    values["account_id"] = [value for value in form.getlist("account_id") if isinstance(value, str)]
    return values


def _checked_interaction(request: Request, journey: AuthorizationJourney, interaction_id: str, form: dict):
    secret = request.cookies.get(COOKIE)
    if not secret or form.get("csrf") != secret:
        raise AuthorizationRequestError("the form did not come from this browser's authorization page")
    return journey.resume(interaction_id, secret), secret


@router.post(AUTHORIZE_PATH + "/{interaction_id}/sign-in")
async def sign_in(interaction_id: str, request: Request, journey: JourneyDep) -> Response:
    form = await _form(request)
    lang = _lang(request, form.get("lang"))

    def run() -> Response:
        try:
            interaction, secret = _checked_interaction(request, journey, interaction_id, form)
            try:
                user = journey.check_credentials(
                    interaction.tenant_id,
                    form.get("username", ""),
                    form.get("password", ""),
                    form.get("otp", ""),
                )
            except SignInFailed:
                return _sign_in_page(
                    request, lang, journey, interaction, secret, failed_as=form.get("username", "")
                )
            journey.sign_in(interaction, user)
        except AuthorizationRequestError as exc:
            return _error_page(request, lang, exc.error, exc.description)
        return RedirectResponse(f"{AUTHORIZE_PATH}/{interaction_id}?lang={lang}", 303, headers=NO_STORE)

    return await run_in_threadpool(run)


@router.post(AUTHORIZE_PATH + "/{interaction_id}/decision")
async def decision(interaction_id: str, request: Request, journey: JourneyDep) -> Response:
    form = await _form(request)
    lang = _lang(request, form.get("lang"))

    def run() -> Response:
        try:
            interaction, secret = _checked_interaction(request, journey, interaction_id, form)
            approve = form.get("decision") == "approve"
            view = journey.view(interaction)
            if (
                approve
                and view.consent
                and view.consent.get("Kind") == "loan-application"
                and not form.get("credit_inquiry")
            ):
                return _page(request, "consent.html", lang, 400, interaction_id=interaction_id, csrf=secret, view=view,
                             account_error=TEXT[lang]["credit_inquiry_required"])  # fmt: skip
            try:
                redirect_to = journey.decide(interaction, approve, form["account_id"] or None)
            except AccountChoiceError as exc:
                return _page(request, "consent.html", lang, 400, interaction_id=interaction_id, csrf=secret,
                             view=view, account_error=str(exc))  # fmt: skip
        except AuthorizationRequestError as exc:
            return _error_page(request, lang, exc.error, exc.description)
        except TemporarilyUnavailableError as exc:
            return _error_page(request, lang, exc.error, exc.description, 503)
        response = RedirectResponse(redirect_to, 303, headers=NO_STORE)
        response.delete_cookie(COOKIE, path=AUTHORIZE_PATH)
        return response

    return await run_in_threadpool(run)


class HeadlessAuthorizeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    AuthorizationUrl: str = Field(max_length=4000)
    Username: str = Field(max_length=64)
    Password: str = Field(max_length=200)
    Otp: str = Field(max_length=20)
    Decision: str = Field(pattern="^(approve|deny)$")
    AccountIds: list[str] | None = Field(default=None, max_length=50)


@router.post("/sandbox/v1/authorize", tags=["sandbox"])
def headless_authorize(
    body: HeadlessAuthorizeBody, tenant: InitialAccessTenant, request: Request, journey: JourneyDep
) -> JSONResponse:
    """DESIGN.md §4: the consent journey for a persona, without a browser; the redirect the browser would follow."""
    issuer = request.app.state.settings.issuer
    url = urlsplit(body.AuthorizationUrl)
    if f"{url.scheme}://{url.netloc}{url.path}" != issuer + AUTHORIZE_PATH:
        raise FieldInvalid("$.AuthorizationUrl", f"AuthorizationUrl must be {issuer}{AUTHORIZE_PATH}?...")
    pairs = parse_qsl(url.query, keep_blank_values=True)
    query = dict(pairs)
    if len(query) != len(pairs):
        raise FieldInvalid("$.AuthorizationUrl", "a query parameter is sent more than once")
    try:
        client = journey.client_of(query)
        if client.tenant_id != tenant.tenant_id:
            raise AuthorizationRequestError("the client belongs to another tenant")
        # Credentials first: a wrong password must not use up the pushed request.
        try:
            user = journey.check_credentials(tenant.tenant_id, body.Username, body.Password, body.Otp)
        except SignInFailed as exc:
            raise Unauthorized(message=str(exc)) from None
        interaction, _ = journey.start(client, query)
        interaction = journey.sign_in(interaction, user)
        redirect_to = journey.decide(interaction, body.Decision == "approve", body.AccountIds)
    except AuthorizationRequestError as exc:
        raise BadRequest(message=f"{exc.error}: {exc.description}") from None
    except AccountChoiceError as exc:
        raise FieldInvalid("$.AccountIds", str(exc)) from None
    except TemporarilyUnavailableError as exc:
        raise ServiceUnavailable(message=exc.description) from None
    return JSONResponse({"RedirectTo": redirect_to}, headers=NO_STORE)
