"""The authorization endpoint's journey, one state machine for the consent pages and headless authorisation.

    /oauth2/authorize ──start──▶ STARTED ──sign_in──▶ SIGNED_IN ──decide──▶ COMPLETED (redirect to the client)

`start` uses up the pushed request (or, for a sandbox-basic client without PAR, checks the query exactly as PAR
would). Signing in is the persona's password and one-time code. `decide` records the decision at the service that
owns the consent, then issues the code: the redirect carries `code`, `state` and `iss` (RFC 9207), or
`error=access_denied`. Errors before the redirect URI is trusted are never redirected.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy import update

from gateway.models import AuthorizationInteraction, SandboxUser
from gateway.oauth.authorization_code import Authorization
from gateway.oauth.clients import AuthlibClient
from gateway.oauth.intents import DecisionRefused
from gateway.oauth.rfc9126_par import CONSENT_SCOPES, REQUEST_URI_PREFIX, consume, validate_pushed_request
from gateway.sandbox.service import hash_token
from openbank_kit.clock import wall_clock
from sandbox_data import SANDBOX_OTP, SANDBOX_PASSWORD

AUTHORIZE_PATH = "/oauth2/authorize"
INTERACTION_LIFETIME_S = 600  # time the customer has to sign in and decide


class AuthorizationRequestError(Exception):
    """The request cannot be served and must not be redirected (unknown client, bad or used request_uri...)."""

    def __init__(self, description: str, error: str = "invalid_request"):
        super().__init__(description)
        self.error, self.description = error, description


class SignInFailed(Exception):
    """Wrong username, password or one-time code."""


class AccountChoiceError(Exception):
    """The accounts chosen are not ones this consent can use; the customer may choose again."""


@dataclass
class ConsentView:
    """What the consent page shows: who asks, for what, and which accounts the customer can choose."""

    client_name: str
    scope: list[str]
    consent: dict | None  # the owning service's Data, None for an openid-only request
    accounts: list[dict]
    display_name: str


class AuthorizationJourney:
    def __init__(self, server, issuer: str):
        self.server, self.issuer = server, issuer
        self.db = server.clients.db

    # --- starting -----------------------------------------------------------------------------------------
    def client_of(self, query: Mapping[str, str]) -> AuthlibClient:
        client_id = query.get("client_id")
        if not client_id:
            raise AuthorizationRequestError("client_id is required")
        client = self.server.query_client(client_id)
        if client is None:
            raise AuthorizationRequestError("client_id is not a registered client", "invalid_client")
        return client

    def start(self, client: AuthlibClient, query: Mapping[str, str]) -> tuple[AuthorizationInteraction, str]:
        """Begin an interaction; (its row, the browser secret that alone can continue it)."""
        self.server.tenants.get_active(client.tenant_id)
        if "request_uri" in query:
            request_uri = query["request_uri"]
            if not request_uri.startswith(REQUEST_URI_PREFIX):
                raise AuthorizationRequestError("request_uri is not one this server issued")
            with self.db.write_session() as session:
                pushed = consume(session, request_uri, client.get_client_id())
                if pushed is None:
                    raise AuthorizationRequestError(
                        "request_uri is unknown, expired, already used or was pushed by another client"
                    )
                parameters, jkt = dict(pushed.parameters), pushed.dpop_jkt
                session.commit()
        else:
            if client.metadata.get("require_pushed_authorization_requests"):
                raise AuthorizationRequestError(
                    "this client must push its authorization request first (PAR): send client_id and request_uri"
                )
            try:
                parameters = validate_pushed_request(client, query, self.server.lookup_intent)
            except OAuth2Error as error:
                raise AuthorizationRequestError(error.description or error.error, error.error) from None
            jkt = query.get("dpop_jkt")
        secret = secrets.token_urlsafe(24)
        row = AuthorizationInteraction(
            interaction_id=secrets.token_urlsafe(24),
            tenant_id=client.tenant_id,
            client_id=client.get_client_id(),
            parameters=parameters,
            dpop_jkt=jkt,
            browser_secret_sha256=hash_token(secret),
            expires_at=wall_clock() + timedelta(seconds=INTERACTION_LIFETIME_S),
        )
        with self.db.write_session() as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            session.expunge(row)
        return row, secret

    def resume(self, interaction_id: str, secret: str | None) -> AuthorizationInteraction:
        """The open interaction this browser holds the secret of."""
        with self.db.read_session() as session:
            row = session.get(AuthorizationInteraction, interaction_id)
        if (
            row is None
            or not secret
            or not hmac.compare_digest(row.browser_secret_sha256, hash_token(secret))
            or row.completed_at is not None
            or row.expires_at <= wall_clock()
        ):
            raise AuthorizationRequestError(
                "this authorization has expired or was completed: start again from the app"
            )
        return row

    # --- signing in ---------------------------------------------------------------------------------------
    def check_credentials(self, tenant_id: str, username: str, password: str, otp: str) -> SandboxUser:
        with self.db.read_session() as session:
            user = session.get(SandboxUser, (tenant_id, (username or "").strip()))
        password_ok = hmac.compare_digest((password or "").encode(), SANDBOX_PASSWORD.encode())
        otp_ok = hmac.compare_digest((otp or "").strip().encode(), SANDBOX_OTP.encode())
        if user is None or not password_ok or not otp_ok:
            raise SignInFailed("the username, password or one-time code is wrong")
        return user

    def sign_in(self, interaction: AuthorizationInteraction, user: SandboxUser) -> AuthorizationInteraction:
        with self.db.write_session() as session:
            row = session.get(AuthorizationInteraction, interaction.interaction_id, with_for_update=True)
            row.customer_id, row.auth_time = user.customer_id, int(time.time())
            session.add(row)
            session.commit()
            session.refresh(row)
            session.expunge(row)
        return row

    def display_name(self, interaction: AuthorizationInteraction) -> str:
        with self.db.read_session() as session:
            user = (
                session.query(SandboxUser)
                .filter_by(tenant_id=interaction.tenant_id, customer_id=interaction.customer_id)
                .first()
            )
        return user.display_name if user else interaction.customer_id or ""

    # --- the consent page ---------------------------------------------------------------------------------
    def view(self, interaction: AuthorizationInteraction) -> ConsentView:
        client = self.server.query_client(interaction.client_id)
        scope = interaction.parameters.get("scope", "").split()
        consent, accounts = None, []
        intent_id, consent_scope = self._intent(interaction)
        if intent_id:
            consent = self.server.lookup_intent(interaction.tenant_id, intent_id, consent_scope)
            if consent is None or consent.get("Status") != "AWAU":
                raise AuthorizationRequestError(
                    "the consent is no longer awaiting authorisation: start again from the app"
                )
            if consent.get("AccountSelection", "none") != "none" and interaction.customer_id:
                accounts = self.server.lookup_intent.customer_accounts(
                    interaction.tenant_id, interaction.customer_id
                )
        return ConsentView(
            client_name=client.metadata.get("client_name", client.get_client_id()) if client else "",
            scope=scope,
            consent=consent,
            accounts=accounts,
            display_name=self.display_name(interaction) if interaction.customer_id else "",
        )

    # --- deciding -----------------------------------------------------------------------------------------
    def decide(
        self, interaction: AuthorizationInteraction, approve: bool, account_ids: list[str] | None
    ) -> str:
        """Record the decision and finish: the URL to send the customer back to the client with."""
        if not interaction.customer_id:
            raise AuthorizationRequestError("sign in before deciding")
        parameters = interaction.parameters
        intent_id, consent_scope = self._intent(interaction)
        if intent_id:
            try:
                self.server.lookup_intent.decide(
                    interaction.tenant_id,
                    intent_id,
                    consent_scope,
                    client_id=interaction.client_id,
                    customer_id=interaction.customer_id,
                    approve=approve,
                    account_ids=account_ids or None,
                )
            except DecisionRefused as refused:
                if refused.status_code == 400 and approve:
                    raise AccountChoiceError(refused.message) from None
                self._complete(interaction)
                return self._error_redirect(parameters, "access_denied", refused.message)
        self._complete(interaction)
        if not approve:
            return self._error_redirect(parameters, "access_denied", "the customer denied the request")
        code = self.server.grants.issue_code(
            Authorization(
                tenant_id=interaction.tenant_id,
                client_id=interaction.client_id,
                customer_id=interaction.customer_id,
                redirect_uri=parameters["redirect_uri"],
                scope=parameters["scope"],
                code_challenge=parameters["code_challenge"],
                code_challenge_method=parameters["code_challenge_method"],
                nonce=parameters.get("nonce"),
                intent_id=intent_id,
                dpop_jkt=interaction.dpop_jkt,
                auth_time=interaction.auth_time or int(time.time()),
            )
        )
        response = [("code", code)]
        if parameters.get("state"):
            response.append(("state", parameters["state"]))
        response.append(("iss", self.issuer))
        return add_params_to_uri(parameters["redirect_uri"], response)

    def _complete(self, interaction: AuthorizationInteraction) -> None:
        """Close the interaction exactly once (a double submit cannot get two codes)."""
        with self.db.write_session() as session:
            done = session.execute(
                update(AuthorizationInteraction)
                .where(
                    AuthorizationInteraction.interaction_id == interaction.interaction_id,
                    AuthorizationInteraction.completed_at.is_(None),
                )
                .values(completed_at=wall_clock())
            ).rowcount
            session.commit()
        if done != 1:
            raise AuthorizationRequestError("this authorization was already completed")

    def _error_redirect(self, parameters: dict, error: str, description: str) -> str:
        response = [("error", error), ("error_description", description)]
        if parameters.get("state"):
            response.append(("state", parameters["state"]))
        response.append(("iss", self.issuer))
        return add_params_to_uri(parameters["redirect_uri"], response)

    @staticmethod
    def _intent(interaction: AuthorizationInteraction) -> tuple[str | None, str | None]:
        scopes = [s for s in interaction.parameters.get("scope", "").split() if s in CONSENT_SCOPES]
        return interaction.parameters.get("openbanking_intent_id"), (scopes[0] if scopes else None)
