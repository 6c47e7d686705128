"""The push dispatcher on a fresh database: the SET signing key does not exist yet when the first delivery is claimed."""

from __future__ import annotations

from datetime import timedelta

import httpx

from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from openbank_kit.migrations import upgrade
from services.payments.app import MIGRATIONS_DIR
from services.payments.events.models import EventDelivery, EventRecord, EventSigningKey
from services.payments.events.service import Dispatcher
from services.payments.events.signing import EventSigner


def test_the_first_claim_creates_the_signing_key_without_waiting_on_itself(tmp_path):
    """On SQLite the key used to be created in a second write transaction inside the claim's: the thread waited
    on its own lock for the 30 s busy timeout, then failed (seen once the gateway stopped reading payments' JWKS
    before the first push)."""
    from openbank_kit.settings import load_settings

    db = Database("payments", load_settings(var_dir=tmp_path, database_url=None))
    upgrade(db, MIGRATIONS_DIR)
    now = wall_clock()
    with db.write_session() as session:
        event = EventRecord(tenant_id="t", jti="jti-1", event_id="e-1", client_id="c", event_type="urn:x",
                            subject={"ResourceId": "r", "ResourceType": "domestic-payments"}, txn="txn-1", toe=now, created_at=now)  # fmt: skip
        session.add(event)
        session.flush()
        session.add(EventDelivery(delivery_id="d-1", tenant_id="t", event_seq=event.seq, subscription_id="s",
                                  client_id="c", callback_url="https://tpp.example/cb", status="PENDING", attempts=[],
                                  next_attempt_at=now - timedelta(seconds=1)))  # fmt: skip
        session.commit()
    refused = httpx.MockTransport(lambda request: httpx.Response(503))
    dispatcher = Dispatcher(db, EventSigner(db), "http://127.0.0.1:8000", max_attempts=3, backoff_s=1.0,
                            timeout_s=1.0, lease_s=5.0, http=httpx.Client(transport=refused))  # fmt: skip
    with db.write_session() as session:
        assert session.query(EventSigningKey).count() == 0
    assert dispatcher.deliver_due(now) == 1
    with db.read_session() as session:
        delivery = session.get(EventDelivery, "d-1")
        assert delivery.set_jwt and delivery.attempts[0]["ResponseStatus"] == 503
        assert session.query(EventSigningKey).count() == 1
    db.dispose()
