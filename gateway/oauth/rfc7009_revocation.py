"""RFC 7009 revocation and RFC 7662 introspection of the gateway's JWT access tokens.

JWTs cannot be recalled, so a revoked token's `jti` is kept until the token would have expired, and the front door
refuses it. A client may revoke and introspect only its own tokens; anything else looks like an unknown token.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.models import RevokedToken
from gateway.oauth.tokens import AccessTokenIssuer, InvalidAccessToken
from openbank_kit.clock import wall_clock
from openbank_kit.db import Database

CLIENT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]
REFRESH_TOKEN_PREFIX = "rt_"


class RevocationList:
    """Revoked token ids (and revoked grants' ids), kept until the tokens would have expired.

    The front door asks on every call, so each process holds the unexpired ids in memory and re-reads them at most
    every RELOAD_S: a revocation made here counts at once, one made by another gateway process within RELOAD_S.
    """

    RELOAD_S = 1.0

    def __init__(self, db: Database):
        self.db = db
        self._lock = threading.Lock()
        self._known: frozenset[str] = frozenset()
        self._local: set[str] = set()  # revoked here since the last reload
        self._loaded_at = float("-inf")

    def revoke(self, claims: dict) -> None:
        row = RevokedToken(
            jti=claims["jti"],
            client_id=claims["client_id"],
            tenant_id=claims["tenant"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
        with self.db.write_session() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # already revoked: revocation is idempotent
        self.remember(claims["jti"])

    def remember(self, revoked_id: str) -> None:
        """A revocation this process committed: effective here at once."""
        with self._lock:
            self._local.add(revoked_id)

    def is_revoked(self, jti: str, grant_id: str | None = None) -> bool:
        """Whether the token, or the customer grant it was issued from (`gid`), was revoked."""
        known = self._current()
        return jti in known or (grant_id is not None and grant_id in known) or self._in_local(jti, grant_id)

    def _in_local(self, jti: str, grant_id: str | None) -> bool:
        local = self._local
        return bool(local) and (jti in local or grant_id in local)

    def _current(self) -> frozenset[str]:
        if time.monotonic() - self._loaded_at < self.RELOAD_S:
            return self._known
        with self._lock:
            if time.monotonic() - self._loaded_at >= self.RELOAD_S:
                with self.db.engine.connect() as connection:
                    rows = connection.execute(
                        select(RevokedToken.jti).where(RevokedToken.expires_at > wall_clock())
                    )
                    self._known = frozenset(row[0] for row in rows)
                self._local = set()  # committed before the reload, so now in _known
                self._loaded_at = time.monotonic()
            return self._known


class IssuedToken:
    """An access token as Authlib's endpoints see it."""

    def __init__(self, claims: dict, revocations: RevocationList):
        self.claims, self.revocations = claims, revocations

    def check_client(self, client) -> bool:
        return True  # ownership is checked in revoke_token / check_permission, so others' tokens look unknown

    def belongs_to(self, client) -> bool:
        return self.claims["client_id"] == client.get_client_id()

    def is_expired(self) -> bool:
        return self.claims["exp"] <= datetime.now(UTC).timestamp()

    def is_revoked(self) -> bool:
        return self.revocations.is_revoked(self.claims["jti"])


class IssuedRefreshToken:
    """A refresh token, which stands for the customer's whole grant: revoking it revokes the grant."""

    def __init__(self, grant):
        self.grant = grant

    def check_client(self, client) -> bool:
        return True

    def belongs_to(self, client) -> bool:
        return self.grant.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return False  # an expired grant is not found in the first place

    def is_revoked(self) -> bool:
        return False


class _TokenLookup:
    token_issuer: AccessTokenIssuer
    revocations: RevocationList

    def query_token(self, token_string: str, token_type_hint: str | None):
        if token_string.startswith(REFRESH_TOKEN_PREFIX):
            grant = self.server.grants.by_refresh_token(token_string)
            return IssuedRefreshToken(grant) if grant else None
        try:
            return IssuedToken(self.token_issuer.verify(token_string), self.revocations)
        except InvalidAccessToken:
            return None  # unknown, expired or not ours: revocation answers 200, introspection inactive


class TokenRevocationEndpoint(_TokenLookup, RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def __init__(self, server, token_issuer: AccessTokenIssuer, revocations: RevocationList):
        super().__init__(server)
        self.token_issuer, self.revocations = token_issuer, revocations

    def revoke_token(self, token, request) -> None:
        if not token.belongs_to(request.client):
            return
        if isinstance(token, IssuedRefreshToken):
            self.server.grants.revoke(token.grant.grant_id)
        else:
            self.revocations.revoke(token.claims)


class TokenIntrospectionEndpoint(_TokenLookup, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def __init__(self, server, token_issuer: AccessTokenIssuer, revocations: RevocationList):
        super().__init__(server)
        self.token_issuer, self.revocations = token_issuer, revocations

    def create_endpoint_response(self, request):
        client = self.authenticate_endpoint_client(request)
        token = self.authenticate_token(request, client)
        if token is not None and not token.belongs_to(client):
            token = None  # another client's token is reported inactive, not refused (no existence oracle)
        return 200, self.create_introspection_payload(token), [("Content-Type", "application/json")]

    def check_permission(self, token: IssuedToken, client, request) -> bool:
        return token.belongs_to(client)

    def introspect_token(self, token) -> dict:
        if isinstance(token, IssuedRefreshToken):
            grant = token.grant
            return {"active": True, "iss": self.server.issuer, "client_id": grant.client_id, "sub": grant.customer_id,
                    "scope": grant.scope, "exp": int(grant.expires_at.timestamp()), "token_type": "refresh_token",
                    "tenant": grant.tenant_id}  # fmt: skip
        claims = token.claims
        payload = {
            "active": True,
            "iss": claims["iss"],
            "client_id": claims["client_id"],
            "sub": claims["sub"],
            "scope": claims["scope"],
            "exp": claims["exp"],
            "iat": claims["iat"],
            "jti": claims["jti"],
            "token_type": "DPoP" if claims.get("cnf") else "Bearer",
            "tenant": claims["tenant"],
        }
        for name in ("cnf", "openbanking_intent_id"):
            if name in claims:
                payload[name] = claims[name]
        return payload
