"""The gateway's signing keys: generated on first use, persisted, published with their `kid`s, rotated.

ES256 is the default signing algorithm; PS256 is kept as well for clients that ask for it. A rotated key stops
signing immediately and stays in the JWKS for RETIRED_KEY_PUBLISH_S, longer than any token it signed lives.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import or_, select

from gateway.models import SigningKey
from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from openbank_kit.ids import new_id

SIGNING_ALGS = ("ES256", "PS256")
DEFAULT_SIGNING_ALG = "ES256"
RETIRED_KEY_PUBLISH_S = 24 * 3600  # ≫ access-token (600 s) and ID-token lifetimes
RSA_KEY_BITS = 3072
RELOAD_S = 60.0  # how soon a rotation made by another gateway process is seen here


def _generate(alg: str, kid: str):
    parameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, private=True)
    if alg == "PS256":
        return RSAKey.generate_key(RSA_KEY_BITS, parameters=parameters, private=True)
    raise ValueError(f"unsupported signing algorithm {alg}")


class KeyStore:
    """Signing keys kept in the gateway's database, cached in memory (keys change only on rotation)."""

    def __init__(self, db: Database):
        self.db = db
        self._lock = threading.Lock()
        self._signing: dict[str, tuple[str, object]] = {}
        self._jwks: dict | None = None
        self._verification: tuple[dict, KeySet, dict] | None = None
        self._loaded_at = time.monotonic()

    def _expire_if_stale(self) -> None:
        """Forget cached keys every RELOAD_S (the caller holds the lock), so other processes' rotations show up."""
        if time.monotonic() - self._loaded_at > RELOAD_S:
            self._signing.clear()
            self._jwks = None
            self._loaded_at = time.monotonic()

    def signing_key(self, alg: str = DEFAULT_SIGNING_ALG):
        """(kid, private key) of the active key for `alg`, generating one on first use."""
        if alg not in SIGNING_ALGS:
            raise ValueError(f"unsupported signing algorithm {alg}")
        with self._lock:
            self._expire_if_stale()
            if alg not in self._signing:
                row = self._active_row(alg) or self._create(alg)
                self._signing[alg] = (row.kid, _import(row.private_jwk))
            return self._signing[alg]

    def jwks(self) -> dict:
        """The public keys clients and services verify against (active and recently retired)."""
        with self._lock:
            self._expire_if_stale()
            if self._jwks is None:
                for alg in SIGNING_ALGS:
                    if self._active_row(alg) is None:
                        self._create(alg)
                self._jwks = {"keys": [row.public_jwk for row in self._published_rows()]}
            return self._jwks

    def verification_keys(self) -> KeySet:
        """Parsed once per JWKS version: importing RSA keys costs more than verifying with them."""
        jwks = self.jwks()
        cached = self._verification
        if cached is None or cached[0] is not jwks:
            key_set = KeySet.import_key_set(jwks)
            es256 = {key.kid: key.get_op_key("verify") for key in key_set.keys if key.get("alg") == "ES256"}
            cached = (jwks, key_set, es256)
            self._verification = cached
        return cached[1]

    def es256_public_key(self, kid: str | None):
        """The published ES256 key with this `kid`, as a `cryptography` public key (None: no such key)."""
        self.verification_keys()
        return self._verification[2].get(kid) if kid else None

    def rotate(self, alg: str = DEFAULT_SIGNING_ALG) -> str:
        """Retire the active key for `alg` and start signing with a new one; returns the new kid."""
        with self._lock, self.db.write_session() as session:
            for row in session.scalars(
                select(SigningKey).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
            ):
                row.retired_at = wall_clock()
                session.add(row)
            session.commit()
            self._signing.pop(alg, None)
            self._jwks = None
        kid = self.signing_key(alg)[0]
        self._jwks = None
        return kid

    def _active_row(self, alg: str) -> SigningKey | None:
        with self.db.read_session() as session:
            query = select(SigningKey).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
            return session.scalars(query.order_by(SigningKey.created_at.desc())).first()

    def _published_rows(self) -> list[SigningKey]:
        cutoff = wall_clock() - timedelta(seconds=RETIRED_KEY_PUBLISH_S)
        with self.db.read_session() as session:
            query = select(SigningKey).where(
                or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff)
            )
            return list(session.scalars(query.order_by(SigningKey.created_at)))

    def _create(self, alg: str) -> SigningKey:
        kid = new_id("key")
        key = _generate(alg, kid)
        row = SigningKey(
            kid=kid,
            alg=alg,
            private_jwk=key.as_dict(private=True),
            public_jwk=key.as_dict(private=False),
            created_at=wall_clock(),
        )
        with self.db.write_session() as session:
            session.add(row)
            session.commit()
        self._jwks = None
        return row


def _import(jwk: dict):
    return (ECKey if jwk["kty"] == "EC" else RSAKey).import_key(jwk)
