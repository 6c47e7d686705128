"""Account-access consent use cases: create, read, delete (the client), decide (the customer, via the gateway)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from openbank_kit.caller import Caller
from openbank_kit.clock import BANK_TIMEZONE, tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import ErrorCode, FieldInvalid, Forbidden, NotFound
from openbank_kit.ids import new_id
from openbank_kit.money import Money
from services.accounts import repository
from services.accounts.domain import consent as rules
from services.accounts.domain.errors import ConsentStateConflict
from services.accounts.models import Account, AccountAccessConsent
from services.accounts.schemas import (
    AccountAccessConsentRequest,
    ConsentAuthorisationBody,
    ConsentRevocationBody,
)

CONSENT_KIND = "account-access"
ELIGIBLE_ACCOUNT_STATUS = "Enabled"
CUSTOMER_ACCOUNT_CLASSES = ("I", "II", "III", "CORPORATE")


def wire_datetime(value: datetime | None) -> str | None:
    """Every datetime on the wire: ISO 8601 with the bank's offset (+08:00)."""
    return value.astimezone(BANK_TIMEZONE).isoformat() if value is not None else None


def require_client(caller: Caller) -> None:
    """Consent resources are the client's own: a customer's token may not create or manage them."""
    if caller.is_customer:
        raise Forbidden(message="account-access-consents need a client-credentials token, not a customer's")


def create_consent(
    db: Database, caller: Caller, request: AccountAccessConsentRequest, consents_url: str
) -> dict:
    """Record an AWAU consent for the calling client after OBIE's permission and window rules."""
    require_client(caller)
    data = request.Data
    permissions = rules.check_permissions(data.Permissions)
    with db.write_session() as session:
        now = tenant_now(session, caller.tenant_id)
        rules.check_window(
            now, data.ExpirationDateTime, data.TransactionFromDateTime, data.TransactionToDateTime
        )
        consent = AccountAccessConsent(
            tenant_id=caller.tenant_id,
            consent_id=new_id("aac"),
            client_id=caller.client_id,
            status=rules.AWAITING,
            permissions=permissions,
            expiration_at=data.ExpirationDateTime,
            transaction_from_at=data.TransactionFromDateTime,
            transaction_to_at=data.TransactionToDateTime,
            created_at=now,
            status_updated_at=now,
            account_ids=[],
            request_data=request.Data.model_dump(mode="json", exclude_none=True),
        )
        session.add(consent)
        session.commit()
        return consent_body(consent, request.Risk, f"{consents_url}/{consent.consent_id}")


def get_consent(db: Database, caller: Caller, consent_id: str, self_url: str) -> dict:
    require_client(caller)
    with db.write_session() as session:
        consent = _clients_consent(session, caller, consent_id)
        _expire_if_due(session, consent)
        session.commit()
        return consent_body(consent, {}, self_url)


def delete_consent(db: Database, caller: Caller, consent_id: str) -> None:
    """CANC a live consent; deleting one already finished (RJCT, EXPD, CANC) changes nothing."""
    require_client(caller)
    with db.write_session() as session:
        consent = _clients_consent(session, caller, consent_id, for_update=True)
        _expire_if_due(session, consent)
        if consent.status in (rules.AWAITING, rules.AUTHORISED):
            _move(consent, rules.CANCELLED, tenant_now(session, caller.tenant_id))
            session.add(consent)
        session.commit()


def _clients_consent(
    session: Session, caller: Caller, consent_id: str, *, for_update: bool = False
) -> AccountAccessConsent:
    consent = repository.consent(session, caller.tenant_id, consent_id, for_update=for_update)
    # Another client's consent and no consent at all answer alike: no existence oracle.
    if consent is None or consent.client_id != caller.client_id:
        raise Forbidden(message="no account-access consent with this id for this client", error_code="U008")
    return consent


def _expire_if_due(session: Session, consent: AccountAccessConsent) -> None:
    now = tenant_now(session, consent.tenant_id)
    if rules.effective_status(consent.status, consent.expiration_at, now) != consent.status:
        _move(consent, rules.EXPIRED, now)
        session.add(consent)


def _move(consent: AccountAccessConsent, target: str, now: datetime) -> None:
    rules.check_transition(consent.status, target)
    consent.status = target
    consent.status_updated_at = now


def consent_body(consent: AccountAccessConsent, risk: dict, self_url: str) -> dict:
    data: dict = {
        "ConsentId": consent.consent_id,
        "Status": consent.status,
        "CreationDateTime": wire_datetime(consent.created_at),
        "StatusUpdateDateTime": wire_datetime(consent.status_updated_at),
        "Permissions": list(consent.permissions),
    }
    for key, value in (
        ("ExpirationDateTime", consent.expiration_at),
        ("TransactionFromDateTime", consent.transaction_from_at),
        ("TransactionToDateTime", consent.transaction_to_at),
    ):
        if value is not None:
            data[key] = wire_datetime(value)
    return {"Data": data, "Risk": risk, "Links": {"Self": self_url}, "Meta": {"TotalPages": 1}}


# --- internal: the gateway's consent journey --------------------------------------------------------------


def internal_consent(db: Database, tenant_id: str, consent_id: str) -> dict:
    with db.write_session() as session:
        consent = repository.consent(session, tenant_id, consent_id)
        if consent is None:
            raise NotFound(message=f"no consent {consent_id} in this tenant")
        _expire_if_due(session, consent)
        session.commit()
        return internal_consent_body(consent)


def authorise_consent(db: Database, tenant_id: str, consent_id: str, body: ConsentAuthorisationBody) -> dict:
    """Record the customer's decision once: AUTH with the chosen accounts, or RJCT."""
    with db.write_session() as session:
        consent = repository.consent(session, tenant_id, consent_id, for_update=True)
        if consent is None:
            raise NotFound(message=f"no consent {consent_id} in this tenant")
        if consent.client_id != body.ClientId:
            raise Forbidden(
                message="the consent belongs to another client", path="ClientId", error_code="U008"
            )
        _expire_if_due(session, consent)
        if consent.status != rules.AWAITING:
            session.commit()  # keep an EXPD found just now
            raise ConsentStateConflict(
                message=f"the consent is {consent.status}, not AWAU: it was already decided"
            )
        customer = repository.customer(session, tenant_id, body.CustomerId)
        if customer is None or customer.party_type != "PERSON":
            raise FieldInvalid("CustomerId", f"no customer {body.CustomerId} who can log in")
        now = tenant_now(session, tenant_id)
        consent.customer_id = customer.customer_id
        if body.Decision == "deny":
            _move(consent, rules.REJECTED, now)
        else:
            consent.account_ids = _chosen_accounts(
                eligible_accounts(session, tenant_id, customer.customer_id), body.AccountIds
            )
            _move(consent, rules.AUTHORISED, now)
        session.add(consent)
        session.commit()
        return internal_consent_body(consent)


def revoke_consent(db: Database, tenant_id: str, consent_id: str, body: ConsentRevocationBody) -> dict:
    """The customer withdraws an authorised consent (from the bank's side, e.g. a consent dashboard): CANC."""
    with db.write_session() as session:
        consent = repository.consent(session, tenant_id, consent_id, for_update=True)
        if consent is None:
            raise NotFound(message=f"no consent {consent_id} in this tenant")
        if consent.customer_id != body.CustomerId:
            raise Forbidden(message="the consent is another customer's", path="CustomerId", error_code="U008")
        _expire_if_due(session, consent)
        if consent.status == rules.CANCELLED:
            session.commit()
            return internal_consent_body(consent)  # revoking twice changes nothing
        if consent.status != rules.AUTHORISED:
            session.commit()
            raise ConsentStateConflict(message=f"the consent is {consent.status}; only AUTH can be revoked")
        _move(consent, rules.CANCELLED, tenant_now(session, tenant_id))
        session.add(consent)
        session.commit()
        return internal_consent_body(consent)


def eligible_accounts(session: Session, tenant_id: str, customer_id: str) -> list[Account]:
    """Accounts a customer may share: their enabled accounts and those of the SMEs they own."""
    return [
        account
        for account in repository.accounts_of_customer(session, tenant_id, customer_id)
        if account.status == ELIGIBLE_ACCOUNT_STATUS and account.account_class in CUSTOMER_ACCOUNT_CLASSES
    ]


def _chosen_accounts(eligible: list[Account], chosen: list[str] | None) -> list[str]:
    eligible_ids = [account.account_id for account in eligible]
    if chosen is None:
        if not eligible_ids:
            raise FieldInvalid("AccountIds", "the customer has no account this consent could cover")
        return eligible_ids
    if not chosen:
        raise FieldInvalid("AccountIds", "choose at least one account")
    picked: list[str] = []
    for index, account_id in enumerate(chosen):
        if account_id not in eligible_ids:
            raise FieldInvalid(
                f"AccountIds[{index}]",
                f"{account_id} is not an eligible account of this customer",
                error_code=ErrorCode.FIELD_INVALID,
            )
        if account_id not in picked:
            picked.append(account_id)
    return picked


def internal_consent_body(consent: AccountAccessConsent) -> dict:
    data: dict = {
        "ConsentId": consent.consent_id,
        "ClientId": consent.client_id,
        "Status": consent.status,
        "Kind": CONSENT_KIND,
        "CustomerId": consent.customer_id,
        "AccountIds": list(consent.account_ids),
        "AccountSelection": "many",
        "Details": dict(consent.request_data),
    }
    if consent.expiration_at is not None:
        data["ExpirationDateTime"] = wire_datetime(consent.expiration_at)
    return {"Data": data}


INTERNAL_ACCOUNT_CLASS = {"I": "I", "II": "II", "III": "III", "CORPORATE": "BUSINESS"}


def customer_accounts(db: Database, tenant_id: str, customer_id: str) -> dict:
    """What the consent page shows: the customer's shareable accounts with their available balances."""
    with db.read_session() as session:
        customer = repository.customer(session, tenant_id, customer_id)
        if customer is None:
            raise NotFound(message=f"no customer {customer_id} in this tenant")
        accounts = eligible_accounts(session, tenant_id, customer_id)
        ids = [account.account_id for account in accounts]
        booked = repository.balances_fen(session, tenant_id, ids)
        held = repository.held_fen(session, tenant_id, ids)
        holders = repository.customers_by_id(
            session, tenant_id, [a.customer_id for a in accounts if a.customer_id]
        )
        return {
            "Data": {
                "Account": [
                    {
                        "AccountId": account.account_id,
                        "Identification": account.account_number,
                        "Name": holders[account.customer_id].full_name if account.customer_id else "",
                        "Nickname": account.nickname,
                        "AccountClass": INTERNAL_ACCOUNT_CLASS[account.account_class],
                        "Currency": account.currency,
                        "Status": account.status,
                        "AvailableBalance": Money.from_fen(
                            booked[account.account_id] - held[account.account_id], account.currency
                        ).to_obie(),
                    }
                    for account in accounts
                ]
            }
        }


MAX_CUSTOMER_CONSENTS = 200


def customer_consents(db: Database, tenant_id: str, customer_id: str) -> dict:
    """Every account-access consent the customer decided, for the sandbox consent dashboard (newest first)."""
    with db.write_session() as session:
        consents = repository.consents_of_customer(session, tenant_id, customer_id, MAX_CUSTOMER_CONSENTS)
        for consent in consents:
            _expire_if_due(session, consent)  # the dashboard shows EXPD as soon as the clock passed it
        session.commit()
        return {
            "Data": {
                "Consent": [
                    {
                        "ConsentId": consent.consent_id,
                        "Kind": CONSENT_KIND,
                        "ClientId": consent.client_id,
                        "Status": consent.status,
                        "CreationDateTime": wire_datetime(consent.created_at),
                        "StatusUpdateDateTime": wire_datetime(consent.status_updated_at),
                        "ExpirationDateTime": wire_datetime(consent.expiration_at),
                        "AccountIds": list(consent.account_ids),
                        "Permissions": list(consent.permissions),
                        "Summary": f"read {len(consent.permissions)} kinds of data on "
                        f"{len(consent.account_ids)} account(s)",
                    }
                    for consent in consents
                ]
            }
        }
