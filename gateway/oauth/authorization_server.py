"""The authorization server: Authlib's framework-agnostic `AuthorizationServer`, hardened, behind a thin adapter.

Authlib is synchronous; routes read the form (async), then call `create_token_response` in the thread pool with
its own unit of work. Grants registered: client_credentials (this file), authorization_code with PKCE S256 required
and refresh_token (authorization_code.py). No implicit and no password grant.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.oauth2 import AuthorizationServer as AuthlibAuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant as AuthlibClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge

from gateway.oauth.authorization_code import AuthorizationCodeGrant, GrantStore, RefreshTokenGrant
from gateway.oauth.clients import SCOPES, AuthlibClient, ClientRegistry
from gateway.oauth.intents import OWNER_OF_SCOPE
from gateway.oauth.replay_cache import ReplayCache
from gateway.oauth.rfc7009_revocation import (
    RevocationList,
    TokenIntrospectionEndpoint,
    TokenRevocationEndpoint,
)
from gateway.oauth.rfc7523_client_assertion import PrivateKeyJWTAuthentication
from gateway.oauth.rfc9126_par import PAR_PATH, IntentLookup, bound_jkt, store, validate_pushed_request
from gateway.oauth.rfc9449_dpop import DPoPProof, DPoPVerifier, InvalidDPoPProofError
from gateway.oauth.tokens import ACCESS_TOKEN_LIFETIME_S, AccessTokenClaims, AccessTokenIssuer

TOKEN_PATH = "/oauth2/token"
MAX_FORM_FIELDS = 30
PAR_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]


class FormRequest(OAuth2Request):
    """An OAuth2Request built from an already-parsed form (Starlette reads it; Authlib only looks)."""

    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], form: dict[str, str], dpop: DPoPProof | None
    ):
        super().__init__(method, uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)
        self.dpop = dpop

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class ClientCredentialsGrant(AuthlibClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]

    def validate_token_request(self):
        super().validate_token_request()
        client: AuthlibClient = self.request.client
        if client.profile == "fapi2" and self.request.dpop is None:
            raise InvalidDPoPProofError("a fapi2 client must send a DPoP proof to the token endpoint")
        scope = self.request.payload.scope
        if not scope or set(scope.split()) - {"accounts", "payments", "fundsconfirmations", "lending"}:
            raise InvalidRequestError(
                "client_credentials scope must name accounts, payments, fundsconfirmations or lending"
            )
        if client.get_allowed_scope(scope) != " ".join(scope.split()):
            raise InvalidRequestError("the client is not registered for every scope it asks for")

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):
        client: AuthlibClient = self.request.client
        proof: DPoPProof | None = self.request.dpop
        claims = AccessTokenClaims(
            tenant_id=client.tenant_id,
            client_id=client.get_client_id(),
            subject=client.get_client_id(),
            scope=" ".join(scope.split()),
            jkt=proof.jkt if proof else None,
        )
        token, _ = self.server.token_issuer.issue(claims)
        return {
            "access_token": token,
            "token_type": "DPoP" if proof else "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "scope": claims.scope,
        }


@dataclass
class OAuthResponse:
    status_code: int
    body: dict
    headers: list[tuple[str, str]]


class AuthorizationServer(AuthlibAuthorizationServer):
    def __init__(
        self,
        issuer: str,
        clients: ClientRegistry,
        token_issuer: AccessTokenIssuer,
        replay_cache: ReplayCache,
        lookup_intent: IntentLookup | None = None,
        tenants=None,
    ):
        super().__init__(scopes_supported=list(SCOPES))
        self.issuer, self.clients, self.token_issuer = issuer, clients, token_issuer
        self.lookup_intent = lookup_intent or (lambda tenant_id, intent_id, scope: None)
        self.dpop = DPoPVerifier(replay_cache)
        if urlsplit(issuer).scheme == "http":
            # The embedded sandbox runs on loopback http; Authlib otherwise refuses non-TLS URIs.
            os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
        self.register_client_auth_method(
            "private_key_jwt",
            PrivateKeyJWTAuthentication(issuer, replay_cache, lambda client: client.key_set()),
        )
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.tenants = tenants
        self.revocations = RevocationList(clients.db)
        self.grants = GrantStore(clients.db, self.revocations)
        self.register_endpoint(TokenRevocationEndpoint(self, token_issuer, self.revocations))
        self.register_endpoint(TokenIntrospectionEndpoint(self, token_issuer, self.revocations))

    def grant_still_valid(self, grant) -> bool:
        """A refresh keeps working while the tenant was not reset since and the consent is still authorised."""
        try:
            tenant = self.tenants.get_active(grant.tenant_id)
        except Exception:  # the tenant is gone
            return False
        if grant.created_at < tenant.tokens_valid_after:
            return False
        if not grant.intent_id:
            return True
        scope = next(s for s in grant.scope.split() if s in OWNER_OF_SCOPE)
        consent = self.lookup_intent(grant.tenant_id, grant.intent_id, scope)
        return (
            bool(consent) and consent.get("Status") == "AUTH" and consent.get("ClientId") == grant.client_id
        )

    def query_client(self, client_id: str) -> AuthlibClient | None:
        row = self.clients.get(client_id)
        return AuthlibClient(row) if row else None

    def save_token(self, token, request) -> None:
        """JWT access tokens are self-contained; revocation lists land with the revocation endpoint."""

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def handle_response(self, status, body, headers) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers))

    def send_signal(self, name, *args, **kwargs) -> None:
        return None

    def token_response(
        self, headers: Mapping[str, str], dpop_values: list[str], form: dict[str, str]
    ) -> OAuthResponse:
        """The token endpoint, synchronous: run it in the thread pool."""
        no_store = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        if len(form) > MAX_FORM_FIELDS:
            return self._error(InvalidRequestError("too many form parameters"), no_store)
        proof = None
        if dpop_values:
            try:
                proof = self.dpop.verify(dpop_values, method="POST", url=self.issuer + TOKEN_PATH)
            except InvalidDPoPProofError as error:
                return self._error(error, no_store)
        request = FormRequest("POST", self.issuer + TOKEN_PATH, headers, form, proof)
        response = self.create_token_response(request)
        response.headers = [*response.headers, *no_store]
        return response

    def par_response(
        self, headers: Mapping[str, str], dpop_values: list[str], form: dict[str, str]
    ) -> OAuthResponse:
        """RFC 9126 pushed authorization request: authenticate, validate, store, answer 201 with a request_uri."""
        no_store = [("Cache-Control", "no-store")]
        if len(form) > MAX_FORM_FIELDS:
            return self._error(InvalidRequestError("too many form parameters"), no_store)
        request = FormRequest("POST", self.issuer + PAR_PATH, headers, form, None)
        try:
            client = self.authenticate_client(request, PAR_AUTH_METHODS, "par")
            proof = None
            if dpop_values:
                proof = self.dpop.verify(dpop_values, method="POST", url=self.issuer + PAR_PATH)
            parameters = validate_pushed_request(client, form, self.lookup_intent)
            jkt = bound_jkt(form, proof.jkt if proof else None)
        except OAuth2Error as error:
            return self._error(error, no_store)
        return OAuthResponse(201, store(self.clients.db, client, parameters, jkt), no_store)

    def endpoint_response(
        self, name: str, path: str, headers: Mapping[str, str], form: dict[str, str]
    ) -> OAuthResponse:
        """Revocation and introspection: client-authenticated form posts, synchronous like the token endpoint."""
        no_store = [("Cache-Control", "no-store")]
        if len(form) > MAX_FORM_FIELDS:
            return self._error(InvalidRequestError("too many form parameters"), no_store)
        response = self.create_endpoint_response(
            name, FormRequest("POST", self.issuer + path, headers, form, None)
        )
        response.headers = [*response.headers, *no_store]
        return response

    def _error(self, error, extra_headers) -> OAuthResponse:
        status, body, headers = error()
        if isinstance(body, str):
            body = json.loads(body)
        return OAuthResponse(status, dict(body), [*headers, *extra_headers])
