"""CBPII use cases (OBIE Confirmation of Funds): consents naming one debtor account, and yes/no answers.

A funds confirmation reads the available balance at the ledger and answers; it moves and stores nothing.
"""

from __future__ import annotations

from datetime import datetime

from openbank_kit.caller import Caller
from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, FieldInvalid, Forbidden, NotFound
from openbank_kit.http_client import ServiceClient
from openbank_kit.ids import new_id
from openbank_kit.money import Money
from services.payments import faults, ledger, repository
from services.payments.domain.errors import ConsentNotUsable
from services.payments.domain.states import FUNDS_CONSENT_TRANSITIONS, transition
from services.payments.models import FundsConfirmationConsent
from services.payments.service import check_account

CBPII = "/open-banking/v4.0/cbpii"


def _check_scope(caller: Caller) -> None:
    if "fundsconfirmations" not in caller.scope:
        raise Forbidden(message="the token does not carry the fundsconfirmations scope")


def consent_status(consent: FundsConfirmationConsent, now: datetime) -> str:
    """The status as of now: an AWAU or AUTH consent past its ExpirationDateTime reads as EXPD."""
    if consent.status in ("AWAU", "AUTH") and consent.expires_at is not None and now >= consent.expires_at:
        return "EXPD"
    return consent.status


def _consent_body(consent: FundsConfirmationConsent, now: datetime, issuer: str) -> dict:
    data = {
        "ConsentId": consent.consent_id,
        "CreationDateTime": consent.created_at.astimezone(now.tzinfo).isoformat(),
        "Status": consent_status(consent, now),
        "StatusUpdateDateTime": consent.status_updated_at.astimezone(now.tzinfo).isoformat(),
        "DebtorAccount": consent.debtor_account,
    }
    if consent.expires_at is not None:
        data["ExpirationDateTime"] = consent.expires_at.astimezone(now.tzinfo).isoformat()
    return {
        "Data": data,
        "Links": {"Self": f"{issuer}{CBPII}/funds-confirmation-consents/{consent.consent_id}"},
        "Meta": {},
    }


def create_consent(db: Database, caller: Caller, body: dict, issuer: str) -> dict:
    _check_scope(caller)
    if caller.is_customer:
        raise Forbidden(message="create a funds confirmation consent with a client-credentials token")
    data = body["Data"]
    number = check_account(data["DebtorAccount"], "Data.DebtorAccount")
    with db.write_session() as session:
        now = tenant_now(session, caller.tenant_id)
        expires_at = (
            datetime.fromisoformat(data["ExpirationDateTime"]) if data.get("ExpirationDateTime") else None
        )
        if expires_at is not None and expires_at <= now:
            raise FieldInvalid("Data.ExpirationDateTime", "ExpirationDateTime must be in the future")
        consent = FundsConfirmationConsent(
            tenant_id=caller.tenant_id,
            consent_id=new_id("fcc"),
            client_id=caller.client_id,
            status="AWAU",
            debtor_account=data["DebtorAccount"],
            debtor_identification=number,
            created_at=now,
            status_updated_at=now,
            expires_at=expires_at,
        )
        session.add(consent)
        session.commit()
        return _consent_body(consent, now, issuer)


def _callers_consent(session, caller: Caller, consent_id: str, *, for_update: bool = False):
    _check_scope(caller)
    consent = repository.funds_consent(session, caller.tenant_id, consent_id, for_update=for_update)
    if consent is None or consent.client_id != caller.client_id:
        raise Forbidden(message="the consent is not this client's")  # no existence oracle
    if caller.is_customer and caller.intent_id != consent_id:
        raise Forbidden(message="the token was issued for another consent")
    return consent


def get_consent(db: Database, caller: Caller, consent_id: str, issuer: str) -> dict:
    with db.read_session() as session:
        consent = _callers_consent(session, caller, consent_id)
        return _consent_body(consent, tenant_now(session, caller.tenant_id), issuer)


def delete_consent(db: Database, caller: Caller, consent_id: str) -> None:
    """The partner withdraws the consent: a live one becomes CANC; a finished one stays as it is."""
    if caller.is_customer:
        raise Forbidden(message="delete a consent with a client-credentials token")
    with db.write_session() as session:
        consent = _callers_consent(session, caller, consent_id, for_update=True)
        now = tenant_now(session, caller.tenant_id)
        if consent_status(consent, now) in ("AWAU", "AUTH"):
            consent.status = transition(FUNDS_CONSENT_TRANSITIONS, "consent", consent.status, "CANC")
            consent.status_updated_at = now
            session.add(consent)
            session.commit()


def confirm_funds(
    db: Database, accounts: ServiceClient, caller: Caller, body: dict, issuer: str, fault: str | None = None
) -> dict:
    """Whether the consent's account can cover the amount now (the customer's token for the consent).
    `fault` insufficient-funds answers false, as a real shortfall would (services/payments/faults.py)."""
    data = body["Data"]
    shortfall_forced = faults.shortfall_forced(faults.requested(fault))
    if not caller.is_customer:
        raise Forbidden(message="a funds confirmation needs the customer's token for its consent")
    amount = Money.from_obie(data["InstructedAmount"], path="Data.InstructedAmount")
    with db.read_session() as session:
        consent = _callers_consent(session, caller, data["ConsentId"])
        now = tenant_now(session, caller.tenant_id)
    status = consent_status(consent, now)
    if status != "AUTH" or consent.debtor_account_id is None:
        raise ConsentNotUsable(message=f"the consent is {status}, not AUTH")
    available = ledger.available_fen(accounts, caller.tenant_id, consent.debtor_account_id)
    return {
        "Data": {
            "FundsConfirmationId": new_id("fcf"),
            "ConsentId": consent.consent_id,
            "CreationDateTime": now.isoformat(),
            "FundsAvailable": available >= amount.fen and not shortfall_forced,
            "Reference": data["Reference"],
            "InstructedAmount": amount.to_obie(),
        },
        "Links": {"Self": f"{issuer}{CBPII}/funds-confirmations"},
        "Meta": {},
    }


# --- the internal consent contract -------------------------------------------------------------------------
def internal_consent_body(consent: FundsConfirmationConsent, now: datetime) -> dict:
    return {
        "Data": {
            "ConsentId": consent.consent_id,
            "ClientId": consent.client_id,
            "Status": consent_status(consent, now),
            "Kind": "funds-confirmation",
            "CustomerId": consent.customer_id,
            "AccountIds": [consent.debtor_account_id] if consent.debtor_account_id else [],
            "AccountSelection": "none",  # the consent names its DebtorAccount
            "ExpirationDateTime": consent.expires_at.astimezone(now.tzinfo).isoformat()
            if consent.expires_at
            else None,
            "Details": {"DebtorAccount": consent.debtor_account}
            | (
                {"ExpirationDateTime": consent.expires_at.astimezone(now.tzinfo).isoformat()}
                if consent.expires_at
                else {}
            ),
        }
    }


def internal_authorise(
    db: Database, accounts: ServiceClient, tenant_id: str, consent: FundsConfirmationConsent, body: dict
) -> dict:
    if consent.client_id != body["ClientId"]:
        raise Forbidden(message="the consent belongs to another client")
    chosen = None
    if body["Decision"] == "approve":
        eligible = ledger.customer_accounts(accounts, tenant_id, body["CustomerId"])
        if eligible is None:
            raise FieldInvalid("CustomerId", f"unknown customer {body['CustomerId']}")
        named = [a for a in eligible if a["Identification"] == consent.debtor_identification]
        if not named:
            raise FieldInvalid("AccountIds", "the consent's DebtorAccount is not an account of this customer")
        requested = body.get("AccountIds")
        if requested is not None and requested != [named[0]["AccountId"]]:
            raise FieldInvalid("AccountIds", "the consent names its DebtorAccount; no other can be chosen")
        chosen = named[0]["AccountId"]
    with db.write_session() as session:
        locked = repository.funds_consent(session, tenant_id, consent.consent_id, for_update=True)
        if locked is None:
            raise NotFound(message=f"no consent {consent.consent_id}")
        now = tenant_now(session, tenant_id)
        if consent_status(locked, now) != "AWAU":
            raise Conflict(message=f"the consent is {consent_status(locked, now)}, not AWAU")
        target = "AUTH" if chosen else "RJCT"
        locked.status = transition(FUNDS_CONSENT_TRANSITIONS, "consent", locked.status, target)
        locked.customer_id = body["CustomerId"]
        locked.debtor_account_id = chosen
        locked.status_updated_at = now
        session.add(locked)
        session.commit()
        return internal_consent_body(locked, now)
