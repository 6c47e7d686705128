"""Event use cases: OBIE event subscriptions, aggregated polling, the internal publish API, the sandbox
inspector, and the push dispatcher (`deliver_due`, driven by a thread in the app or directly by tests)."""

from __future__ import annotations

import codecs
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from openbank_kit.caller import Caller
from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, FieldInvalid, Forbidden, NotFound
from openbank_kit.faults import requested_faults
from openbank_kit.ids import new_id
from services.payments.events.models import EventDelivery, EventRecord, EventSubscription
from services.payments.events.outbox import EVENT_TYPES, record_event, subscription_wants
from services.payments.events.signing import EventSigner

logger = structlog.get_logger("openbank.payments.events")
BASE = "/open-banking/v4.0"
FAULT_HEADER = "x-openbank-fault"
WEBHOOK_FAILURE = "webhook-failure"
MAX_EVENTS_PER_POLL = 100
# What an attempt keeps of the receiver's answer, for a partner debugging its webhook in the inspector.
RESPONSE_BODY_MAX_CHARS = 2048
RESPONSE_READ_CHUNK_BYTES = 1024
RESPONSE_CONTENT_TYPE_MAX_CHARS = 200
ERROR_MAX_CHARS = 300
SCOPES = ("payments", "accounts")


# --- helpers -----------------------------------------------------------------------------------------------
def _check_client(caller: Caller) -> None:
    if caller.is_customer:
        raise Forbidden(message="events use a client-credentials token")
    if not any(scope in caller.scope for scope in SCOPES):
        raise Forbidden(message="the token carries neither the payments nor the accounts scope")


def _absolute(link: str, issuer: str) -> str:
    return issuer + link if link.startswith("/") else link


def set_claims(event: EventRecord, issuer: str) -> dict:
    """The SET of one event (event-notifications-openapi.yaml OBEventNotification1)."""
    subject = event.subject
    links = [{"version": item["Version"], "link": _absolute(item["Link"], issuer)}
             for item in subject.get("ResourceLinks", [])]  # fmt: skip
    return {
        "iss": issuer,
        "iat": int(wall_clock().timestamp()),
        "jti": event.jti,
        "aud": event.client_id,
        "sub": links[0]["link"] if links else f"{issuer}/{subject['ResourceType']}/{subject['ResourceId']}",
        "txn": event.txn,
        "toe": int(event.toe.timestamp()),
        "events": {
            event.event_type: {
                "subject": {
                    "subject_type": subject["ResourceType"],
                    "http://openbanking.org.uk/rid": subject["ResourceId"],
                    "http://openbanking.org.uk/rty": subject["ResourceType"],
                    "http://openbanking.org.uk/rlk": links,
                }
            }
        },
    }


# --- subscriptions -----------------------------------------------------------------------------------------
def _subscription_body(sub: EventSubscription, issuer: str) -> dict:
    data: dict = {"EventSubscriptionId": sub.subscription_id, "Version": sub.version}
    if sub.callback_url:
        data["CallbackUrl"] = sub.callback_url
    if sub.event_types:
        data["EventTypes"] = sub.event_types
    return data


def _validated(body: dict) -> tuple[str | None, str, list[str] | None]:
    data = body["Data"]
    callback = data.get("CallbackUrl")
    if callback is not None:
        url = httpx.URL(callback)
        if url.scheme not in ("http", "https") or not url.host:
            raise FieldInvalid("Data.CallbackUrl", "the CallbackUrl must be an absolute http(s) URL")
    if data["Version"] not in ("4.0", "v4.0"):
        raise FieldInvalid("Data.Version", "this bank sends events of version 4.0")
    types = data.get("EventTypes")
    for index, event_type in enumerate(types or []):
        if event_type not in EVENT_TYPES:
            raise FieldInvalid(f"Data.EventTypes[{index}]", f"unsupported event type {event_type}")
    return callback, data["Version"], types or None


def _own_subscription(session: Session, caller: Caller) -> EventSubscription | None:
    return session.scalars(
        select(EventSubscription).where(
            EventSubscription.tenant_id == caller.tenant_id, EventSubscription.client_id == caller.client_id
        )
    ).first()


def create_subscription(db: Database, caller: Caller, body: dict, fault: str | None, issuer: str) -> dict:
    _check_client(caller)
    callback, version, types = _validated(body)
    with db.write_session() as session:
        if _own_subscription(session, caller) is not None:
            raise Conflict(message="this client already has an event subscription (one per client)")
        sub = EventSubscription(
            tenant_id=caller.tenant_id, subscription_id=new_id("esub"), client_id=caller.client_id,
            callback_url=callback, version=version, event_types=types,
            fault=WEBHOOK_FAILURE if WEBHOOK_FAILURE in requested_faults(fault) else None, created_at=wall_clock(),
        )  # fmt: skip
        session.add(sub)
        session.commit()
        data = _subscription_body(sub, issuer)
    return {"Data": data, "Links": {"Self": f"{issuer}{BASE}/event-subscriptions/{sub.subscription_id}"},
            "Meta": {}}  # fmt: skip


def list_subscriptions(db: Database, caller: Caller, issuer: str) -> dict:
    _check_client(caller)
    with db.read_session() as session:
        sub = _own_subscription(session, caller)
        items = [_subscription_body(sub, issuer)] if sub else []
    return {"Data": {"EventSubscription": items}, "Links": {"Self": f"{issuer}{BASE}/event-subscriptions"},
            "Meta": {}}  # fmt: skip


def _callers(session: Session, caller: Caller, subscription_id: str) -> EventSubscription:
    sub = _own_subscription(session, caller)
    if sub is None or sub.subscription_id != subscription_id:
        raise NotFound(message=f"no event subscription {subscription_id} for this client")
    return sub


def update_subscription(db: Database, caller: Caller, subscription_id: str, body: dict, issuer: str) -> dict:
    _check_client(caller)
    if body["Data"].get("EventSubscriptionId") not in (None, subscription_id):
        raise FieldInvalid("Data.EventSubscriptionId", "does not match the subscription in the path")
    callback, version, types = _validated(body)
    with db.write_session() as session:
        sub = _callers(session, caller, subscription_id)
        sub.callback_url, sub.version, sub.event_types = callback, version, types
        session.add(sub)
        session.commit()
        data = _subscription_body(sub, issuer)
    return {"Data": data, "Links": {"Self": f"{issuer}{BASE}/event-subscriptions/{subscription_id}"},
            "Meta": {}}  # fmt: skip


def delete_subscription(db: Database, caller: Caller, subscription_id: str) -> None:
    """Pending pushes to it stop (dead-lettered with the reason); its events stay available by polling."""
    _check_client(caller)
    with db.write_session() as session:
        sub = _callers(session, caller, subscription_id)
        pending = session.scalars(
            select(EventDelivery).where(
                EventDelivery.subscription_id == subscription_id, EventDelivery.status == "PENDING"
            )
        ).all()
        for delivery in pending:
            delivery.status = "DEAD_LETTERED"
            not_sent = AttemptOutcome(status=None, error="subscription deleted", latency_ms=0)
            delivery.attempts = [*delivery.attempts, not_sent.record(wall_clock())]
            session.add(delivery)
        session.delete(sub)
        session.commit()


# --- aggregated polling ------------------------------------------------------------------------------------
def _unacked(session: Session, caller: Caller, limit: int) -> list[EventRecord]:
    sub = _own_subscription(session, caller)
    rows = session.scalars(
        select(EventRecord)
        .where(EventRecord.tenant_id == caller.tenant_id, EventRecord.client_id == caller.client_id,
               col(EventRecord.acked_at).is_(None))
        .order_by(col(EventRecord.seq))
    ).all()  # fmt: skip
    return [row for row in rows if subscription_wants(sub, row.event_type)][: limit + 1]


def poll(
    db: Database, caller: Caller, body: dict, signer: EventSigner, issuer: str, long_poll_s: float
) -> dict:
    """Acknowledge (ack, setErrs), then return up to maxEvents unacknowledged SETs keyed by jti."""
    _check_client(caller)
    max_events = body.get("maxEvents", MAX_EVENTS_PER_POLL)
    if max_events is not None and max_events < 0:
        raise FieldInvalid("maxEvents", "maxEvents cannot be negative")
    max_events = MAX_EVENTS_PER_POLL if max_events is None else min(max_events, MAX_EVENTS_PER_POLL)
    acks = list(body.get("ack") or [])
    errors = dict(body.get("setErrs") or {})
    if acks or errors:
        with db.write_session() as session:
            rows = session.scalars(
                select(EventRecord).where(
                    EventRecord.tenant_id == caller.tenant_id,
                    EventRecord.client_id == caller.client_id,
                    col(EventRecord.jti).in_([*acks, *errors]),
                    col(EventRecord.acked_at).is_(None),
                )
            ).all()  # fmt: skip; another client's jti matches nothing
            for row in rows:
                row.acked_at = wall_clock()
                row.set_error = errors.get(row.jti)
                session.add(row)
            session.commit()
    deadline = time.monotonic() + (0 if body.get("returnImmediately", True) else long_poll_s)
    while True:
        with db.read_session() as session:
            events = _unacked(session, caller, max_events) if max_events > 0 else []
            more = len(events) > max_events if max_events > 0 else bool(_unacked(session, caller, 0))
            events = events[:max_events]
        if events or max_events == 0 or time.monotonic() >= deadline:
            break
        time.sleep(0.2)  # long poll: the client asked to wait for events (bounded by long_poll_s)
    return {"moreAvailable": more, "sets": {e.jti: signer.sign(set_claims(e, issuer)) for e in events}}


# --- the internal publish API (contract A) ----------------------------------------------------------------
def publish(db: Database, tenant_id: str, body: dict) -> tuple[int, dict]:
    try:
        occurred = datetime.fromisoformat(body["OccurredAt"])
    except ValueError:
        raise FieldInvalid("OccurredAt", "OccurredAt is not an ISO 8601 date-time") from None
    if occurred.tzinfo is None:
        raise FieldInvalid("OccurredAt", "OccurredAt needs its offset")
    for attempt in range(2):
        try:
            with db.write_session() as session:
                event, created = record_event(
                    session, tenant_id=tenant_id, client_id=body["ClientId"], event_id=body["EventId"],
                    event_type=body["EventType"], subject=body["Subject"], occurred_at=occurred,
                )  # fmt: skip
                session.commit()
                return (201 if created else 200), {"EventId": event.event_id, "Jti": event.jti}
        except IntegrityError:
            if attempt:  # pragma: no cover - the second attempt finds the winner's row
                raise
            # A concurrent publish of the same EventId inserted first: the retry finds its event and answers 200.
    raise AssertionError("unreachable")


# --- sandbox inspector -------------------------------------------------------------------------------------
# Attempts recorded before the response body was kept lack these keys: shown as "nothing received".
_ATTEMPT_DEFAULTS = {"ResponseContentType": None, "ResponseBody": None, "ResponseBodyTruncated": False}


def _delivery_body(delivery: EventDelivery, event: EventRecord) -> dict:
    attempts = [{**_ATTEMPT_DEFAULTS, **attempt} for attempt in delivery.attempts]
    return {
        "DeliveryId": delivery.delivery_id, "EventId": event.event_id, "Jti": event.jti,
        "ClientId": delivery.client_id, "CallbackUrl": delivery.callback_url, "EventType": event.event_type,
        "ResourceId": event.subject.get("ResourceId"), "Status": delivery.status, "Attempts": attempts,
        "NextAttemptAt": delivery.next_attempt_at.isoformat() if delivery.status == "PENDING" else None,
        "SetJwt": delivery.set_jwt,
    }  # fmt: skip


def list_deliveries(db: Database, tenant_id: str, limit: int) -> dict:
    with db.read_session() as session:
        rows = session.execute(
            select(EventDelivery, EventRecord)
            .where(EventDelivery.tenant_id == tenant_id, EventRecord.seq == EventDelivery.event_seq)
            .order_by(col(EventDelivery.event_seq).desc())
            .limit(max(1, min(limit, 500)))
        ).all()
        return {"Data": {"Delivery": [_delivery_body(d, e) for d, e in rows]}}


def redeliver(db: Database, tenant_id: str, delivery_id: str) -> dict:
    with db.write_session() as session:
        delivery = session.get(EventDelivery, delivery_id)
        if delivery is None or delivery.tenant_id != tenant_id:
            raise NotFound(message=f"no delivery {delivery_id}")
        delivery.status = "PENDING"
        delivery.next_attempt_at = wall_clock()
        session.add(delivery)
        session.commit()
        event = session.get(EventRecord, delivery.event_seq)
        assert event is not None
        return _delivery_body(delivery, event)


# --- push --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttemptOutcome:
    """One POST to a CallbackUrl as the inspector shows it. `status` None: no HTTP answer (connection error,
    simulated failure); then there is no body either and `error` says why."""

    status: int | None
    error: str | None
    latency_ms: int
    content_type: str | None = None
    body: str | None = None
    body_truncated: bool = False

    def record(self, attempted_at: datetime) -> dict:
        return {
            "AttemptedAt": attempted_at.isoformat(), "ResponseStatus": self.status, "LatencyMs": self.latency_ms,
            "Error": self.error, "ResponseContentType": self.content_type, "ResponseBody": self.body,
            "ResponseBodyTruncated": self.body_truncated,
        }  # fmt: skip


def read_body_prefix(response: httpx.Response, max_chars: int) -> tuple[str, bool]:
    """The first `max_chars` characters of a streamed body, decoded as UTF-8 (bad bytes replaced), and whether
    more followed. Reads at most about 4·max_chars bytes (a character is at most 4 bytes): a receiver answering
    megabytes costs the dispatcher no more than that."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = ""
    for chunk in response.iter_bytes(chunk_size=RESPONSE_READ_CHUNK_BYTES):
        text += decoder.decode(chunk)
        if len(text) > max_chars:
            return text[:max_chars], True
    text += decoder.decode(b"", final=True)  # a character cut at the very end becomes U+FFFD
    if len(text) > max_chars:
        return text[:max_chars], True
    return text, False


class Dispatcher:
    """Claims due deliveries, POSTs the signed SET to {CallbackUrl}/event-notifications, records every attempt.

    A claim pushes next_attempt_at forward by `lease_s` and commits before the POST: a process that dies
    mid-delivery leaves the row PENDING, due again once the lease ends (at-least-once)."""

    def __init__(self, db: Database, signer: EventSigner, issuer: str, *, max_attempts: int, backoff_s: float,
                 timeout_s: float, lease_s: float, http: httpx.Client | None = None) -> None:  # fmt: skip
        self.db, self.signer, self.issuer = db, signer, issuer
        self.max_attempts, self.backoff_s, self.lease_s = max_attempts, backoff_s, lease_s
        self.http = http or httpx.Client(timeout=timeout_s, trust_env=False, follow_redirects=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _claim(self, now: datetime, batch: int) -> list[tuple[str, str, str | None, str]]:
        # The signing key before the claim's transaction: on first use it is created in a write transaction of its
        # own, which on SQLite would wait for this one (a second writer in the same thread) until the busy timeout.
        self.signer.key()
        with self.db.write_session() as session:
            query = (
                select(EventDelivery)
                .where(EventDelivery.status == "PENDING", EventDelivery.next_attempt_at <= now)
                .order_by(col(EventDelivery.next_attempt_at))
                .limit(batch)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
            )
            claimed = []
            for delivery in session.scalars(query).all():
                if delivery.set_jwt is None:  # signed once: every retry sends the same SET (same jti)
                    event = session.get(EventRecord, delivery.event_seq)
                    assert event is not None
                    delivery.set_jwt = self.signer.sign(set_claims(event, self.issuer))
                delivery.next_attempt_at = now + timedelta(seconds=self.lease_s)
                session.add(delivery)
                claimed.append(
                    (delivery.delivery_id, delivery.callback_url, delivery.fault, delivery.set_jwt)
                )
            session.commit()
            return claimed

    def _send(self, url: str, fault: str | None, set_jwt: str) -> AttemptOutcome:
        started = time.monotonic()
        if fault == WEBHOOK_FAILURE:
            return AttemptOutcome(None, "simulated receiver failure (x-openbank-fault: webhook-failure)", 0)
        try:
            # Streamed, so only the part of the body the inspector keeps is ever read.
            with self.http.stream(
                "POST", url.rstrip("/") + "/event-notifications", content=set_jwt,
                headers={"Content-Type": "application/jwt", "Accept": "application/json"},
            ) as response:  # fmt: skip
                body, truncated = read_body_prefix(response, RESPONSE_BODY_MAX_CHARS)
        except httpx.HTTPError as exc:
            # No answer, or it broke off mid-body: the error text is what the partner gets to see.
            latency_ms = int((time.monotonic() - started) * 1000)
            return AttemptOutcome(None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS], latency_ms)
        latency_ms = int((time.monotonic() - started) * 1000)
        content_type = response.headers.get("content-type")
        return AttemptOutcome(
            status=response.status_code,
            error=None if response.is_success else f"HTTP {response.status_code}",
            latency_ms=latency_ms,
            content_type=content_type[:RESPONSE_CONTENT_TYPE_MAX_CHARS] if content_type is not None else None,
            body=body,
            body_truncated=truncated,
        )

    def _record(self, delivery_id: str, now: datetime, outcome: AttemptOutcome) -> None:
        with self.db.write_session() as session:
            delivery = session.get(EventDelivery, delivery_id, with_for_update=True)
            if delivery is None or delivery.status != "PENDING":
                return  # the tenant was reset or the subscription deleted meanwhile
            delivery.attempts = [*delivery.attempts, outcome.record(now)]
            if outcome.error is None:
                delivery.status = "DELIVERED"
                event = session.get(EventRecord, delivery.event_seq)
                if event is not None and event.acked_at is None:
                    event.acked_at = now  # the receiver's 2xx acknowledges it: polling will not return it
                    session.add(event)
            else:
                failures = sum(1 for a in delivery.attempts if a["Error"] is not None)
                if failures >= self.max_attempts:
                    delivery.status = "DEAD_LETTERED"
                else:
                    delivery.next_attempt_at = now + timedelta(seconds=self.backoff_s * 2 ** (failures - 1))
            session.add(delivery)
            session.commit()

    def deliver_due(self, now: datetime | None = None, batch: int = 50) -> int:
        """One pass: every due delivery gets one attempt. `now` (wall clock) lets tests drive the backoff."""
        now = now or wall_clock()
        claimed = self._claim(now, batch)
        for delivery_id, url, fault, set_jwt in claimed:
            self._record(delivery_id, now, self._send(url, fault, set_jwt))
        return len(claimed)

    def start(self, interval_s: float) -> None:
        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.deliver_due()
                except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
                    logger.exception("event_dispatch_failed")

        self._thread = threading.Thread(target=run, name="event-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (tests stop it to drive `deliver_due` themselves); `start` may be called again."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._stop = threading.Event()

    def close(self) -> None:
        self.stop()
        self.http.close()
