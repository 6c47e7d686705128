"""The customer's grants: authorization codes (RFC 6749 §4.1 + PKCE) and refresh tokens, on Authlib's grant classes.

A code lives 60 s, is used once, and is bound to the PKCE challenge, the redirect URI and the DPoP key shown at
PAR. Using a code twice revokes everything issued from it (RFC 6749 §4.1.2). Refresh tokens are not rotated; they
last as long as the consent stays authorised (the owning service is asked on every refresh).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant as AuthlibAuthorizationCodeGrant
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant as AuthlibRefreshTokenGrant
from sqlalchemy import update

from gateway.models import AuthorizationCode, OAuthGrant, RevokedToken
from gateway.oauth.clients import AuthlibClient
from gateway.oauth.rfc7009_revocation import REFRESH_TOKEN_PREFIX
from gateway.oauth.rfc9449_dpop import DPoPProof, InvalidDPoPProofError
from gateway.oauth.tokens import ACCESS_TOKEN_LIFETIME_S, AccessTokenClaims
from gateway.sandbox.service import hash_token
from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from openbank_kit.ids import new_id

CODE_LIFETIME_S = 60  # FAPI 2.0: at most 60 s
GRANT_LIFETIME = timedelta(
    days=90
)  # the longest a refresh token can live; the consent usually ends it sooner
CLIENT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]


@dataclass(frozen=True)
class Authorization:
    """What the customer approved in the consent journey, ready to become a code."""

    tenant_id: str
    client_id: str
    customer_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    intent_id: str | None
    dpop_jkt: str | None
    auth_time: int


class GrantStore:
    """Codes and grants in the gateway's database."""

    def __init__(self, db: Database, revocations):
        self.db, self.revocations = db, revocations

    def issue_code(self, authorization: Authorization) -> str:
        code = secrets.token_urlsafe(32)
        now = wall_clock()
        grant_id = new_id("grt")
        with self.db.write_session() as session:
            session.add(
                OAuthGrant(
                    grant_id=grant_id,
                    tenant_id=authorization.tenant_id,
                    client_id=authorization.client_id,
                    customer_id=authorization.customer_id,
                    scope=authorization.scope,
                    intent_id=authorization.intent_id,
                    auth_time=authorization.auth_time,
                    created_at=now,
                    expires_at=now + GRANT_LIFETIME,
                )
            )
            session.add(
                AuthorizationCode(
                    code_sha256=hash_token(code),
                    grant_id=grant_id,
                    tenant_id=authorization.tenant_id,
                    client_id=authorization.client_id,
                    customer_id=authorization.customer_id,
                    redirect_uri=authorization.redirect_uri,
                    scope=authorization.scope,
                    nonce=authorization.nonce,
                    code_challenge=authorization.code_challenge,
                    code_challenge_method=authorization.code_challenge_method,
                    intent_id=authorization.intent_id,
                    dpop_jkt=authorization.dpop_jkt,
                    auth_time=authorization.auth_time,
                    expires_at=now + timedelta(seconds=CODE_LIFETIME_S),
                )
            )
            session.commit()
        return code

    def claim_code(self, code: str, client_id: str, precheck) -> AuthorizationCode | None:
        """Use a code up, atomically; a second use revokes its grant. `precheck(row)` may refuse before use."""
        now = wall_clock()
        with self.db.write_session() as session:
            row = session.get(AuthorizationCode, hash_token(code), with_for_update=True)
            if row is None or row.client_id != client_id:
                return None  # another client's code looks unknown
            if row.used_at is not None:
                self._revoke(session, row.grant_id, now)
                session.commit()
                self.revocations.remember(row.grant_id)
                return None
            if row.expires_at <= now:
                return None
            precheck(row)
            row.used_at = now
            session.add(row)
            session.commit()
            session.refresh(row)
            session.expunge(row)
            return row

    def attach_refresh_token(self, grant_id: str) -> str:
        token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.write_session() as session:
            session.execute(
                update(OAuthGrant)
                .where(OAuthGrant.grant_id == grant_id)
                .values(refresh_token_sha256=hash_token(token))
            )
            session.commit()
        return token

    def by_refresh_token(self, token: str) -> OAuthGrant | None:
        with self.db.read_session() as session:
            row = session.query(OAuthGrant).filter_by(refresh_token_sha256=hash_token(token)).one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= wall_clock():
            return None
        return row

    def revoke(self, grant_id: str) -> None:
        with self.db.write_session() as session:
            self._revoke(session, grant_id, wall_clock())
            session.commit()
        self.revocations.remember(grant_id)

    @staticmethod
    def _revoke(session, grant_id: str, now: datetime) -> None:
        """The grant's refresh token stops working, and so does every access token carrying its `gid`."""
        grant = session.get(OAuthGrant, grant_id, with_for_update=True)
        if grant is None or grant.revoked_at is not None:
            return
        grant.revoked_at = now
        session.add(grant)
        # Access tokens name their grant in `gid`; the front door checks gid against the revocation list.
        session.add(
            RevokedToken(
                jti=grant_id,
                client_id=grant.client_id,
                tenant_id=grant.tenant_id,
                expires_at=now + timedelta(seconds=ACCESS_TOKEN_LIFETIME_S + 60),
            )
        )


class Customer:
    """The resource owner as Authlib's grants see it."""

    def __init__(self, customer_id: str):
        self.customer_id = customer_id

    def get_user_id(self) -> str:
        return self.customer_id


class IssuedCode:
    def __init__(self, row: AuthorizationCode):
        self.row = row

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method


def _require_dpop_for(client: AuthlibClient, proof: DPoPProof | None) -> None:
    if client.profile == "fapi2" and proof is None:
        raise InvalidDPoPProofError("a fapi2 client must send a DPoP proof to the token endpoint")


def _tokens(server, grant, client: AuthlibClient, proof: DPoPProof | None, scope: str, grant_id: str) -> dict:
    """The token response of the code and refresh grants: a DPoP-bound (or bearer) JWT, ID token when openid."""
    claims = AccessTokenClaims(
        tenant_id=client.tenant_id,
        client_id=client.get_client_id(),
        subject=grant.customer_id,
        scope=scope,
        jkt=proof.jkt if proof else None,
        intent_id=grant.intent_id,
        grant_id=grant_id,
    )
    access_token, _ = server.token_issuer.issue(claims)
    token = {
        "access_token": access_token,
        "token_type": "DPoP" if proof else "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_S,
        "scope": scope,
    }
    return token


class AuthorizationCodeGrant(AuthlibAuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_authorization_code(self, code, client: AuthlibClient):
        proof: DPoPProof | None = self.request.dpop

        def precheck(row: AuthorizationCode) -> None:
            # Refused before the code is used, so a client's honest mistake does not cost it the code.
            _require_dpop_for(client, proof)
            if row.dpop_jkt and (proof is None or proof.jkt != row.dpop_jkt):
                raise InvalidGrantError("the DPoP proof's key is not the one the authorization was bound to")

        row = self.server.grants.claim_code(code, client.get_client_id(), precheck)
        return IssuedCode(row) if row else None

    def validate_token_request(self):
        if not self.request.form.get("redirect_uri"):
            raise InvalidRequestError("redirect_uri is required")
        super().validate_token_request()

    def authenticate_user(self, authorization_code: IssuedCode):
        return Customer(authorization_code.row.customer_id)

    def delete_authorization_code(self, authorization_code) -> None:
        """Already used up when claimed."""

    def save_authorization_code(self, code, request) -> None:
        raise NotImplementedError("codes are issued by the consent journey (GrantStore.issue_code)")

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):
        client: AuthlibClient = self.request.client
        row: AuthorizationCode = self.request.authorization_code.row
        token = _tokens(self.server, row, client, self.request.dpop, row.scope, row.grant_id)
        if include_refresh_token:
            token["refresh_token"] = self.server.grants.attach_refresh_token(row.grant_id)
        if "openid" in row.scope.split():
            token["id_token"] = self.server.token_issuer.issue_id_token(
                client_id=client.get_client_id(),
                subject=row.customer_id,
                alg=client.metadata["id_token_signed_response_alg"],
                auth_time=row.auth_time,
                nonce=row.nonce,
                intent_id=row.intent_id,
            )
        return token


class RefreshTokenGrant(AuthlibRefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = False  # no rotation: the refresh token lives as long as the consent

    def authenticate_refresh_token(self, refresh_token: str):
        grant = self.server.grants.by_refresh_token(refresh_token)
        return RefreshableGrant(grant) if grant else None

    def validate_token_request(self):
        super().validate_token_request()
        client: AuthlibClient = self.request.client
        _require_dpop_for(client, self.request.dpop)
        grant: OAuthGrant = self.request.refresh_token.grant
        if not self.server.grant_still_valid(grant):
            raise InvalidGrantError("the consent behind this refresh token is no longer authorised")

    def authenticate_user(self, refresh_token):
        return Customer(refresh_token.grant.customer_id)

    def revoke_old_credential(self, refresh_token) -> None:
        """Not rotated: the same refresh token keeps working."""

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):
        client: AuthlibClient = self.request.client
        grant: OAuthGrant = self.request.refresh_token.grant
        return _tokens(self.server, grant, client, self.request.dpop, " ".join(scope.split()), grant.grant_id)


class RefreshableGrant:
    def __init__(self, grant: OAuthGrant):
        self.grant = grant

    def check_client(self, client) -> bool:
        return self.grant.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.grant.scope
