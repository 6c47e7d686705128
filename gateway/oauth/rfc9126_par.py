"""RFC 9126 Pushed Authorization Requests, with the FAPI 2.0 rules checked before anything is stored.

The client authenticates exactly as at the token endpoint; the request is validated (PKCE S256, exact redirect URI,
`code` only, nonce ≤ 64, the consent intent it names) and stored under a one-time `request_uri` valid for 90 s.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta

from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError, OAuth2Error
from sqlmodel import Session

from gateway.models import PushedAuthorizationRequest
from gateway.oauth.clients import AuthlibClient
from gateway.oauth.rfc9449_dpop import InvalidDPoPProofError
from openbank_kit.clock import wall_clock
from openbank_kit.db import Database

PAR_PATH = "/oauth2/par"
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
REQUEST_URI_LIFETIME_S = 90  # FAPI 2.0: under 600 s
MAX_NONCE_CHARS = 64
MAX_STATE_CHARS = 512
CONSENT_SCOPES = ("accounts", "payments", "fundsconfirmations", "lending")
_CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

# (tenant_id, intent_id, scope) -> the owning service's view of the consent, or None when it does not know it.
IntentLookup = Callable[[str, str, str], dict | None]


class UnsupportedResponseTypeError(OAuth2Error):
    error = "unsupported_response_type"


def intent_id_of(form: Mapping[str, str]) -> str | None:
    """The consent named by `openbanking_intent_id`, or by the OBIE `claims` form."""
    if form.get("openbanking_intent_id"):
        return form["openbanking_intent_id"]
    if not form.get("claims"):
        return None
    try:
        claims = json.loads(form["claims"])
        for member in ("id_token", "userinfo"):
            value = (claims.get(member) or {}).get("openbanking_intent_id", {}).get("value")
            if value:
                return str(value)
    except (ValueError, AttributeError):
        raise InvalidRequestError("claims is not valid JSON") from None
    return None


def validate_pushed_request(
    client: AuthlibClient, form: Mapping[str, str], lookup_intent: IntentLookup
) -> dict[str, str]:
    """The authorization parameters to keep, or an OAuth error saying what is wrong."""
    if "request_uri" in form:
        raise InvalidRequestError("request_uri must not be sent to the pushed authorization request endpoint")
    if "request" in form:
        raise InvalidRequestError("request objects (JAR) are not supported: send the parameters in the form")
    if form.get("client_id", client.get_client_id()) != client.get_client_id():
        raise InvalidRequestError("client_id does not match the authenticated client")
    if form.get("response_type") != "code":
        raise UnsupportedResponseTypeError("response_type must be code")
    redirect_uri = form.get("redirect_uri")
    if not redirect_uri:
        raise InvalidRequestError("redirect_uri is required")
    if not client.check_redirect_uri(redirect_uri):
        raise InvalidRequestError("redirect_uri is not one of the client's registered redirect URIs")
    if not form.get("code_challenge"):
        raise InvalidRequestError("code_challenge is required (PKCE)")
    if form.get("code_challenge_method") != "S256":
        raise InvalidRequestError("code_challenge_method must be S256")
    if not _CODE_CHALLENGE.match(form["code_challenge"]):
        raise InvalidRequestError("code_challenge is not a base64url S256 challenge")
    if len(form.get("nonce", "")) > MAX_NONCE_CHARS:
        raise InvalidRequestError(f"nonce is longer than {MAX_NONCE_CHARS} characters")
    if len(form.get("state", "")) > MAX_STATE_CHARS:
        raise InvalidRequestError(f"state is longer than {MAX_STATE_CHARS} characters")
    scopes = form.get("scope", "").split()
    if not scopes or client.get_allowed_scope(" ".join(scopes)) != " ".join(scopes):
        raise InvalidScopeError("scope must be values the client registered")
    consent_scopes = [scope for scope in scopes if scope in CONSENT_SCOPES]
    if len(consent_scopes) > 1:
        raise InvalidScopeError(
            "one authorization covers one consent: ask for one of " + ", ".join(CONSENT_SCOPES)
        )
    intent_id = intent_id_of(form)
    if consent_scopes and not intent_id:
        raise InvalidRequestError(f"scope {consent_scopes[0]} needs openbanking_intent_id naming the consent")
    if intent_id:
        if not consent_scopes:
            raise InvalidRequestError(
                "openbanking_intent_id needs the scope of the API that owns the consent"
            )
        _check_intent(client, intent_id, consent_scopes[0], lookup_intent)
    kept = (
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    )
    parameters = {name: form[name] for name in kept if name in form}
    if intent_id:
        parameters["openbanking_intent_id"] = intent_id
    return parameters


def _check_intent(client: AuthlibClient, intent_id: str, scope: str, lookup_intent: IntentLookup) -> None:
    consent = lookup_intent(client.tenant_id, intent_id, scope)
    if consent is None:
        raise InvalidRequestError(f"openbanking_intent_id {intent_id!r} is unknown in this tenant")
    if consent.get("ClientId") != client.get_client_id():
        raise InvalidRequestError(f"openbanking_intent_id {intent_id!r} belongs to another client")
    if consent.get("Status") != "AWAU":
        raise InvalidRequestError(f"openbanking_intent_id {intent_id!r} is {consent.get('Status')}, not AWAU")


def bound_jkt(form: Mapping[str, str], proof_jkt: str | None) -> str | None:
    """The DPoP key the code will be bound to (RFC 9449 §10): the proof's, the dpop_jkt parameter's, or both equal."""
    requested = form.get("dpop_jkt")
    if requested and proof_jkt and requested != proof_jkt:
        raise InvalidDPoPProofError("dpop_jkt does not match the DPoP proof's key")
    return proof_jkt or requested


def store(db: Database, client: AuthlibClient, parameters: dict, jkt: str | None) -> dict:
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
    row = PushedAuthorizationRequest(
        request_uri=request_uri,
        tenant_id=client.tenant_id,
        client_id=client.get_client_id(),
        parameters=parameters,
        dpop_jkt=jkt,
        expires_at=wall_clock() + timedelta(seconds=REQUEST_URI_LIFETIME_S),
    )
    with db.write_session() as session:
        session.add(row)
        session.commit()
    return {"request_uri": request_uri, "expires_in": REQUEST_URI_LIFETIME_S}


def consume(session: Session, request_uri: str, client_id: str) -> PushedAuthorizationRequest | None:
    """Take a pushed request for use exactly once (the caller commits); None when unknown, expired, used or foreign."""
    row = session.get(PushedAuthorizationRequest, request_uri, with_for_update=True)
    if row is None or row.client_id != client_id or row.used_at is not None or row.expires_at <= wall_clock():
        return None
    row.used_at = wall_clock()
    session.add(row)
    return row
