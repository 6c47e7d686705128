"""Partner apps: RFC 7591 registration (+ RFC 7592 read/update/delete) and what Authlib needs to see of a client.

Two security profiles (issue: Gateway): `fapi2` (default: private_key_jwt, DPoP, PAR) and `sandbox-basic`
(client secrets and bearer tokens, for classrooms and curl). Secrets and registration tokens are stored hashed.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from gateway.models import OAuthClient
from gateway.oauth.keys import SIGNING_ALGS
from gateway.oauth.rfc7523_client_assertion import CLIENT_ASSERTION_ALGS
from gateway.proxy.rate_limit import DEFAULT_RATE_PER_S
from gateway.sandbox.service import hash_token
from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from openbank_kit.ids import new_id

PROFILES = ("fapi2", "sandbox-basic")
AUTH_METHODS = {"fapi2": ("private_key_jwt",), "sandbox-basic": ("client_secret_basic", "client_secret_post")}
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SCOPES = ("openid", "accounts", "payments", "fundsconfirmations", "lending")
MAX_REDIRECT_URIS = 10
MAX_JWKS_KEYS = 10
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}
TEXT_FIELDS = {"client_name": 140, "client_uri": 500, "logo_uri": 500, "tos_uri": 500, "policy_uri": 500,
               "software_id": 140, "software_version": 40}  # fmt: skip


class InvalidClientMetadata(Exception):
    """RFC 7591 §3.2.2 error: `error` is invalid_client_metadata or invalid_redirect_uri."""

    def __init__(self, description: str, error: str = "invalid_client_metadata"):
        super().__init__(description)
        self.error, self.description = error, description


def validate_metadata(body: Any) -> dict:
    """Registered metadata with every default filled in, or InvalidClientMetadata naming the field."""
    if not isinstance(body, dict):
        raise InvalidClientMetadata("the registration body must be a JSON object")
    metadata = dict(body)
    for name in ("client_id", "client_secret", "registration_access_token", "client_id_issued_at"):
        metadata.pop(name, None)  # server-assigned (RFC 7592 update bodies echo them)
    method = metadata.get("token_endpoint_auth_method")
    if method is None:
        raise InvalidClientMetadata("token_endpoint_auth_method is required")
    default_profile = "sandbox-basic" if method in AUTH_METHODS["sandbox-basic"] else "fapi2"
    profile = metadata.setdefault("openbank_security_profile", default_profile)
    if profile not in PROFILES:
        raise InvalidClientMetadata(f"openbank_security_profile must be one of {', '.join(PROFILES)}")
    if method not in AUTH_METHODS[profile]:
        raise InvalidClientMetadata(
            f"token_endpoint_auth_method {method!r} is not allowed for profile {profile}: use "
            + " or ".join(AUTH_METHODS[profile])
        )
    grant_types = metadata.setdefault("grant_types", list(GRANT_TYPES))
    if not _list_of_str(grant_types) or not grant_types or set(grant_types) - set(GRANT_TYPES):
        raise InvalidClientMetadata(f"grant_types must be a non-empty subset of {', '.join(GRANT_TYPES)}")
    response_types = metadata.setdefault(
        "response_types", ["code"] if "authorization_code" in grant_types else []
    )
    if response_types not in (["code"], []) or (response_types == []) == (
        "authorization_code" in grant_types
    ):
        raise InvalidClientMetadata(
            'response_types must be ["code"] (with authorization_code) — no implicit flows'
        )
    redirect_uris = metadata.get("redirect_uris", [])
    if "authorization_code" in grant_types and not redirect_uris:
        raise InvalidClientMetadata(
            "redirect_uris is required for the authorization_code grant", "invalid_redirect_uri"
        )
    if not _list_of_str(redirect_uris) or len(redirect_uris) > MAX_REDIRECT_URIS:
        raise InvalidClientMetadata(
            f"redirect_uris must be a list of at most {MAX_REDIRECT_URIS} URIs", "invalid_redirect_uri"
        )
    for uri in redirect_uris:
        _check_redirect_uri(uri, profile)
    if len(set(redirect_uris)) != len(redirect_uris):
        raise InvalidClientMetadata("redirect_uris lists the same URI twice", "invalid_redirect_uri")
    metadata["redirect_uris"] = redirect_uris
    scope = metadata.setdefault("scope", " ".join(SCOPES))
    if not isinstance(scope, str) or not scope.split() or set(scope.split()) - set(SCOPES):
        raise InvalidClientMetadata(f"scope must be space-separated values from: {' '.join(SCOPES)}")
    alg = metadata.setdefault("id_token_signed_response_alg", SIGNING_ALGS[0])
    if alg not in SIGNING_ALGS:
        raise InvalidClientMetadata(f"id_token_signed_response_alg must be one of {', '.join(SIGNING_ALGS)}")
    metadata.setdefault("client_name", "Unnamed app")
    for name, limit in TEXT_FIELDS.items():
        if name in metadata and (not isinstance(metadata[name], str) or len(metadata[name]) > limit):
            raise InvalidClientMetadata(f"{name} must be a string of at most {limit} characters")
    if method == "private_key_jwt":
        metadata.setdefault("token_endpoint_auth_signing_alg", "ES256")
        if metadata["token_endpoint_auth_signing_alg"] not in CLIENT_ASSERTION_ALGS:
            raise InvalidClientMetadata(
                f"token_endpoint_auth_signing_alg must be one of {', '.join(CLIENT_ASSERTION_ALGS)}"
            )
        _check_jwks(metadata)
    rate = metadata.setdefault("openbank_rate_limit_per_second", DEFAULT_RATE_PER_S)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= DEFAULT_RATE_PER_S:
        raise InvalidClientMetadata(
            f"openbank_rate_limit_per_second must be an integer from 1 to {DEFAULT_RATE_PER_S}"
        )
    metadata["dpop_bound_access_tokens"] = profile == "fapi2"
    metadata["require_pushed_authorization_requests"] = profile == "fapi2"
    return metadata


def _list_of_str(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_redirect_uri(uri: str, profile: str) -> None:
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc or parts.fragment:
        raise InvalidClientMetadata(
            f"redirect URI {uri!r} must be absolute and without a fragment", "invalid_redirect_uri"
        )
    if (
        profile == "fapi2"
        and parts.scheme != "https"
        and not (parts.scheme == "http" and _is_loopback(parts.hostname))
    ):
        raise InvalidClientMetadata(
            f"redirect URI {uri!r}: fapi2 clients use https (or loopback http)", "invalid_redirect_uri"
        )
    if parts.scheme not in ("https", "http") and profile == "fapi2":
        raise InvalidClientMetadata(f"redirect URI {uri!r} has an unsupported scheme", "invalid_redirect_uri")


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_jwks(metadata: dict) -> None:
    if "jwks_uri" in metadata:
        raise InvalidClientMetadata("jwks_uri is not supported yet: register the public keys inline as jwks")
    jwks = metadata.get("jwks")
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise InvalidClientMetadata('private_key_jwt needs jwks: {"keys": [public JWKs]}')
    if len(jwks["keys"]) > MAX_JWKS_KEYS:
        raise InvalidClientMetadata(f"jwks holds at most {MAX_JWKS_KEYS} keys")
    for key in jwks["keys"]:
        if not isinstance(key, dict) or PRIVATE_JWK_MEMBERS & set(key):
            raise InvalidClientMetadata("jwks must hold public keys only (no private members)")
        if key.get("kty") == "RSA" and len(key.get("n", "")) * 6 < 2040:
            raise InvalidClientMetadata("RSA keys in jwks must be at least 2048 bits")
    try:
        KeySet.import_key_set(jwks)
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise InvalidClientMetadata(f"jwks is not a valid JWK Set ({exc})") from None


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    tenant_id: str
    metadata: dict
    client_secret: str | None  # shown once, at registration
    registration_access_token: str


CLIENT_CACHE_TTL_S = (
    5.0  # how long another gateway process may serve a client after it was changed or deleted
)
CLIENT_CACHE_MAX = 10_000


class ClientRegistry:
    def __init__(self, db: Database, issuer: str):
        self.db, self.issuer = db, issuer
        # The token endpoint looks a client up on every call; a short-lived cache spares the database round trip.
        self._cache: dict[str, tuple[float, OAuthClient | None]] = {}
        self._cache_lock = threading.Lock()

    def register(self, tenant_id: str, body: Any) -> RegisteredClient:
        metadata = validate_metadata(body)
        profile = metadata["openbank_security_profile"]
        client_id = new_id("cli")
        secret = secrets.token_urlsafe(32) if profile == "sandbox-basic" else None
        registration_token = "rat_" + secrets.token_urlsafe(32)
        now = wall_clock()
        row = OAuthClient(
            client_id=client_id,
            tenant_id=tenant_id,
            profile=profile,
            token_endpoint_auth_method=metadata["token_endpoint_auth_method"],
            client_secret_sha256=hash_token(secret) if secret else None,
            registration_access_token_sha256=hash_token(registration_token),
            client_metadata=metadata,
            client_id_issued_at=int(now.timestamp()),
            created_at=now,
        )
        with self.db.write_session() as session:
            session.add(row)
            session.commit()
        return RegisteredClient(client_id, tenant_id, metadata, secret, registration_token)

    def update(self, row: OAuthClient, body: Any) -> dict:
        metadata = validate_metadata(body)
        if metadata["openbank_security_profile"] != row.profile:
            raise InvalidClientMetadata("openbank_security_profile cannot change: register a new client")
        with self.db.write_session() as session:
            stored = session.get(OAuthClient, row.client_id)
            stored.client_metadata = metadata
            stored.token_endpoint_auth_method = metadata["token_endpoint_auth_method"]
            session.add(stored)
            session.commit()
        self.forget(row.client_id)
        return metadata

    def rotate_secret(self, client_id: str) -> str:
        """A new client secret for a sandbox-basic client; the old one stops working at once."""
        secret = secrets.token_urlsafe(32)
        with self.db.write_session() as session:
            row = session.get(OAuthClient, client_id)
            assert row is not None and row.profile == "sandbox-basic", (
                "only sandbox-basic clients hold secrets"
            )
            row.client_secret_sha256 = hash_token(secret)
            session.add(row)
            session.commit()
        self.forget(client_id)
        return secret

    def delete(self, client_id: str) -> None:
        with self.db.write_session() as session:
            row = session.get(OAuthClient, client_id)
            if row is not None:
                session.delete(row)
            session.commit()
        self.forget(client_id)

    def get(self, client_id: str) -> OAuthClient | None:
        now = time.monotonic()
        cached = self._cache.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.db.read_session() as session:
            row = session.get(OAuthClient, client_id)
        with self._cache_lock:
            if len(self._cache) >= CLIENT_CACHE_MAX:
                self._cache.clear()  # bounded: a flood of unknown ids cannot grow it without limit
            self._cache[client_id] = (now + CLIENT_CACHE_TTL_S, row)
        return row

    def forget(self, client_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(client_id, None)

    def by_registration_token(self, client_id: str, token: str | None) -> OAuthClient | None:
        row = self.get(client_id)
        if (
            row is None
            or not token
            or not hmac.compare_digest(row.registration_access_token_sha256, hash_token(token))
        ):
            return None
        return row

    def of_tenant(self, tenant_id: str) -> list[OAuthClient]:
        with self.db.read_session() as session:
            return list(session.scalars(select(OAuthClient).where(OAuthClient.tenant_id == tenant_id)))

    def registration_response(self, registered: RegisteredClient, issued_at: int) -> dict:
        body = {
            **registered.metadata,
            "client_id": registered.client_id,
            "client_id_issued_at": issued_at,
            "registration_access_token": registered.registration_access_token,
            "registration_client_uri": f"{self.issuer}/oauth2/register/{registered.client_id}",
        }
        if registered.client_secret:
            body["client_secret"] = registered.client_secret
            body["client_secret_expires_at"] = 0
        return body


class AuthlibClient(ClientMixin):
    """What Authlib's grants ask of a client, read from our table row."""

    def __init__(self, row: OAuthClient):
        self.row = row
        self.metadata: dict = row.client_metadata

    @property
    def tenant_id(self) -> str:
        return self.row.tenant_id

    @property
    def profile(self) -> str:
        return self.row.profile

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # redirect_uri is always required: no default to fall back on

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = self.metadata["scope"].split()
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.metadata["redirect_uris"]  # exact match, no prefix or pattern

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.row.client_secret_sha256
        return bool(stored) and hmac.compare_digest(stored, hash_token(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.row.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.metadata["response_types"]

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.metadata["grant_types"]

    def key_set(self) -> KeySet:
        return _key_set(json.dumps(self.metadata["jwks"], sort_keys=True))


@lru_cache(maxsize=1024)
def _key_set(jwks_json: str) -> KeySet:
    """Parsed client key sets, keyed by their content (a changed jwks is a new entry)."""
    return KeySet.import_key_set(json.loads(jwks_json))
