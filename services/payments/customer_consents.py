"""The customer's side of payment consents (sandbox consent dashboard): list what they decided, revoke one.

Revocation moves an AUTH (or AWAU) consent to CANC through the consents' transition tables; a revoked consent no
longer makes a payment or answers a funds confirmation (both require AUTH). The gateway publishes the
consent-authorization-revoked event after this answers (docs/sandbox-api.md).
"""

from __future__ import annotations

from datetime import datetime

from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, NotFound
from services.payments import funds_confirmation_service, repository
from services.payments.domain.states import CONSENT_TRANSITIONS, FUNDS_CONSENT_TRANSITIONS, transition
from services.payments.models import DomesticPaymentConsent, FundsConfirmationConsent
from services.payments.service import consent_status

MAX_CUSTOMER_CONSENTS = 200
REVOCABLE = ("AWAU", "AUTH")


def _iso(moment: datetime | None, now: datetime) -> str | None:
    return moment.astimezone(now.tzinfo).isoformat() if moment is not None else None


def _payment_row(consent: DomesticPaymentConsent, now: datetime) -> dict:
    amount = consent.initiation.get("InstructedAmount", {})
    return {
        "ConsentId": consent.consent_id,
        "Kind": "domestic-payment",
        "ClientId": consent.client_id,
        "Status": consent_status(consent, now),
        "CreationDateTime": _iso(consent.created_at, now),
        "StatusUpdateDateTime": _iso(consent.status_updated_at, now),
        "ExpirationDateTime": _iso(consent.expires_at, now),
        "AccountIds": [consent.debtor_account_id] if consent.debtor_account_id else [],
        "Permissions": [],
        "Summary": f"pay {amount.get('Amount')} {amount.get('Currency')} to {consent.creditor_name}",
    }


def _funds_row(consent: FundsConfirmationConsent, now: datetime) -> dict:
    return {
        "ConsentId": consent.consent_id,
        "Kind": "funds-confirmation",
        "ClientId": consent.client_id,
        "Status": funds_confirmation_service.consent_status(consent, now),
        "CreationDateTime": _iso(consent.created_at, now),
        "StatusUpdateDateTime": _iso(consent.status_updated_at, now),
        "ExpirationDateTime": _iso(consent.expires_at, now),
        "AccountIds": [consent.debtor_account_id] if consent.debtor_account_id else [],
        "Permissions": [],
        "Summary": f"confirm whether account {consent.debtor_identification} can cover an amount",
    }


def customer_consents(db: Database, tenant_id: str, customer_id: str) -> dict:
    """Every PISP and CBPII consent the customer decided, newest first."""
    with db.read_session() as session:
        now = tenant_now(session, tenant_id)
        rows = [
            _payment_row(c, now)
            for c in repository.consents_of_customer(session, tenant_id, customer_id, MAX_CUSTOMER_CONSENTS)
        ] + [
            _funds_row(c, now)
            for c in repository.funds_consents_of_customer(
                session, tenant_id, customer_id, MAX_CUSTOMER_CONSENTS
            )
        ]
    rows.sort(key=lambda row: row["CreationDateTime"], reverse=True)
    return {"Data": {"Consent": rows[:MAX_CUSTOMER_CONSENTS]}}


def revoke_consent(db: Database, tenant_id: str, consent_id: str, customer_id: str) -> dict:
    """The customer withdraws a payment or funds-confirmation consent at the bank: CANC. Revoking twice is a no-op.

    Another customer's consent answers 404, as an unknown one does (the dashboard shows only the customer's own).
    """
    with db.write_session() as session:
        now = tenant_now(session, tenant_id)
        consent = repository.consent(session, tenant_id, consent_id, for_update=True)
        if consent is not None:
            table, status, row = CONSENT_TRANSITIONS, consent_status(consent, now), _payment_row
        else:
            consent = repository.funds_consent(session, tenant_id, consent_id, for_update=True)
            table, row = FUNDS_CONSENT_TRANSITIONS, _funds_row
            status = funds_confirmation_service.consent_status(consent, now) if consent is not None else None
        if consent is None or consent.customer_id != customer_id:
            raise NotFound(message=f"the customer has no consent {consent_id}")
        if status == "CANC":
            return {"Data": row(consent, now)}
        if status not in REVOCABLE:
            raise Conflict(message=f"the consent is {status}; only AUTH or AWAU can be revoked")
        consent.status = transition(table, "consent", consent.status, "CANC")
        consent.status_updated_at = now
        session.add(consent)
        session.commit()
        return {"Data": row(consent, now)}
