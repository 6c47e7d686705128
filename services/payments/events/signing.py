"""The key payments signs SETs with: generated on first use, kept in payments' database, published by
GET /internal/v1/event-signing-keys (the gateway merges it into its jwks_uri). Distinct kid prefix `evt-`."""

from __future__ import annotations

import secrets
import threading

from joserfc import jwt
from joserfc.jwk import ECKey
from sqlmodel import select

from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from services.payments.events.models import EventSigningKey

ALG = "ES256"


class EventSigner:
    def __init__(self, db: Database):
        self.db = db
        self._lock = threading.Lock()
        self._key: tuple[str, ECKey] | None = None

    def _row(self) -> EventSigningKey:
        with self.db.write_session() as session:
            row = session.scalars(select(EventSigningKey).order_by(EventSigningKey.created_at)).first()
            if row is not None:
                return row
            kid = "evt-" + secrets.token_hex(8)
            key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": ALG, "use": "sig"}, private=True)
            row = EventSigningKey(
                kid=kid, private_jwk=key.as_dict(private=True), public_jwk=key.as_dict(private=False),
                created_at=wall_clock(),
            )  # fmt: skip
            session.add(row)
            session.commit()
            return row

    def key(self) -> tuple[str, ECKey]:
        with self._lock:
            if self._key is None:
                row = self._row()
                self._key = (row.kid, ECKey.import_key(row.private_jwk))
            return self._key

    def public_jwks(self) -> dict:
        """Every key ever used (there is one unless two processes raced at first use: both stay valid)."""
        self.key()
        with self.db.read_session() as session:
            return {"keys": [row.public_jwk for row in session.scalars(select(EventSigningKey)).all()]}

    def sign(self, claims: dict) -> str:
        kid, key = self.key()
        return jwt.encode({"alg": ALG, "kid": kid, "typ": "secevent+jwt"}, claims, key)
