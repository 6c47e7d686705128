"""The consent-authorization-revoked event (DESIGN.md §6), published to payments' event API (contract A).

Choice: best effort, at least once while payments answers. The revocation is committed first and never fails
because of the event: the publish is retried by the service client (it carries an idempotency key and the
EventId is stable, so a retry cannot duplicate), and if payments stays unreachable the event is logged as lost
(`consent_event_not_published`) rather than blocking the customer's revocation. Revoking again republishes
(same EventId: payments keeps exactly one event)."""

from __future__ import annotations

import structlog
from fastapi import Request

from openbank_kit.db import Database
from openbank_kit.http_client import ServiceCallError, ServiceClient
from services.accounts import repository
from services.accounts.consent_service import wire_datetime

logger = structlog.get_logger("openbank.accounts.events")
REVOKED = "urn:uk:org:openbanking:events:consent-authorization-revoked"


def publish_if_revoked(
    db: Database, payments: ServiceClient, issuer: str, tenant_id: str, consent_id: str
) -> bool:
    """After a DELETE or revocation: a CANC consent the customer had authorised (it has a customer) → event."""
    with db.read_session() as session:
        consent = repository.consent(session, tenant_id, consent_id)
    if consent is None or consent.status != "CANC" or consent.customer_id is None:
        return False
    link = f"{issuer}/open-banking/v4.0/aisp/account-access-consents/{consent_id}"
    body = {"EventId": f"{consent_id}-REVOKED", "ClientId": consent.client_id, "EventType": REVOKED,
            "Subject": {"ResourceId": consent_id, "ResourceType": "account-access-consents",
                        "ResourceLinks": [{"Version": "4.0", "Link": link}]},
            "OccurredAt": wire_datetime(consent.status_updated_at)}  # fmt: skip
    try:
        response = payments.post(f"/internal/v1/tenants/{tenant_id}/events", json=body,
                                 idempotency_key=body["EventId"])  # fmt: skip
    except ServiceCallError as exc:
        logger.warning(
            "consent_event_not_published", tenant_id=tenant_id, consent_id=consent_id, reason=exc.reason
        )
        return False
    if response.status_code not in (200, 201):
        logger.warning("consent_event_not_published", tenant_id=tenant_id, consent_id=consent_id,
                       status=response.status_code)  # fmt: skip
        return False
    return True


def after_revocation(request: Request, tenant_id: str, consent_id: str) -> None:
    state = request.app.state
    publish_if_revoked(state.db, state.payments_client, state.settings.issuer, tenant_id, consent_id)
