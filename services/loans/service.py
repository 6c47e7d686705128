"""Lending use cases: consents, the synchronous decision, offers → loans disbursed through the ledger, repayments.

Each use case is one unit of work that commits before the route answers. Money moves only by asking the ledger
(accounts) to post, always with an idempotency key derived from our own ids, so a retry never posts twice.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import structlog
from sqlmodel import Session

from openbank_kit import sql
from openbank_kit.async_db import AsyncDatabase, AsyncUnit
from openbank_kit.caller import Caller
from openbank_kit.clock import clock_now, tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import BadRequest, Conflict, FieldInvalid, Forbidden, NotFound, ServiceUnavailable
from openbank_kit.http_client import ServiceCallError, ServiceClient
from openbank_kit.idempotency import (
    AsyncIdempotencyStore,
    IdempotencyStore,
    StoredResponse,
    validate_idempotency_key,
)
from openbank_kit.ids import new_id
from openbank_kit.money import Money, fen_to_obie
from services.loans import features as feature_gathering
from services.loans import loan_events, repository
from services.loans.domain.decision import (
    RULES_VERSION,
    DecisionRequest,
    DecisionResult,
    Features,
    Outcome,
    decide,
)
from services.loans.domain.errors import ConsentNotUsable, OfferNotAcceptable, RepaymentRefused
from services.loans.domain.products import (
    OFFER_VALIDITY_DAYS,
    PENALTY_RATE_UPLIFT,
    PRODUCTS,
    PRODUCTS_BY_ID,
    SPREADS,
    UNSECURED_PERSONAL_CAP_FEN,
    ProductType,
    check_terms,
    price,
)
from services.loans.domain.schedule import (
    Instalment,
    RepaymentMethod,
    accrued_interest_fen,
    build_schedule,
    format_rate_percent,
    reschedule_after_prepayment,
    total_interest_fen,
)
from services.loans.domain.states import (
    APPLICATION_TRANSITIONS,
    CONSENT_TRANSITIONS,
    LOAN_TRANSITIONS,
    transition,
)
from services.loans.models import (
    CreditDecision,
    LendingConsent,
    Loan,
    LoanApplication,
    LoanInstalment,
    LoanRepayment,
)

logger = structlog.get_logger("openbank.loans")
CONSENT_LIFETIME = timedelta(days=1)
LEDGER_CALLER = "loans"
# The bank's side of loan postings (chart of accounts: docs/lending.md). Principal is the loan's own receivable
# account (class LOAN, opened in accounts at disbursement); interest and 罚息 are income of the bank.
INTEREST_INCOME_ACCOUNT_ID = "INT-LOAN-INTEREST-INCOME"
PENALTY_INCOME_ACCOUNT_ID = "INT-PENALTY-INTEREST-INCOME"
# Loans disbursed before the loan book have no loan account: their principal was funded from the clearing
# account, so it returns there.
LEGACY_PRINCIPAL_ACCOUNT_ID = "INT-CLEARING-CNAPS"
LEDGER_IN_PROGRESS_RETRIES = 40  # a concurrent duplicate of our own posting is finishing: wait up to ~2 s
LEDGER_IN_PROGRESS_WAIT_S = 0.05
CREATE_APPLICATION = "POST /lending/v1/applications"
CREATE_REPAYMENT = "POST /lending/v1/loans/{LoanId}/repayments"
INELIGIBLE_CLASSES = {"III", "INTERNAL"}
OPEN_ACCOUNT_STATUSES = {
    "Enabled",
    "ENABLED",
    "ACTIVE",
}  # a Class III account cannot hold a loan (balance ≤ ¥2,000)


# --- wire helpers ------------------------------------------------------------------------------------------
def _amount(fen: int) -> dict[str, str]:
    return fen_to_obie(fen)


def _envelope(data: dict, self_path: str, issuer: str) -> dict:
    return {"Data": data, "Links": {"Self": issuer + self_path}, "Meta": {}}


def instalment_body(instalment: Instalment | LoanInstalment) -> dict:
    return {
        "Sequence": instalment.sequence,
        "DueDate": instalment.due_date.isoformat(),
        "Principal": _amount(instalment.principal_fen),
        "Interest": _amount(instalment.interest_fen),
        "Total": _amount(instalment.principal_fen + instalment.interest_fen),
        "RemainingPrincipal": _amount(instalment.remaining_principal_fen),
    }


def _legs(debit_account_id: str, credits: list[tuple[str, int]]) -> list[dict]:
    """One debit and its credits, zero amounts left out (an interest-only instalment has no principal)."""
    credits = [(account_id, fen) for account_id, fen in credits if fen]
    total_fen = sum(fen for _, fen in credits)
    assert total_fen > 0 and all(fen > 0 for _, fen in credits)
    legs = [{"AccountId": debit_account_id, "CreditDebitIndicator": "Debit", "Amount": _amount(total_fen)}]
    legs += [
        {"AccountId": account_id, "CreditDebitIndicator": "Credit", "Amount": _amount(fen)}
        for account_id, fen in credits
    ]
    return legs


def _principal_account_id(loan: Loan) -> str:
    return loan.loan_account_id or LEGACY_PRINCIPAL_ACCOUNT_ID


def _check_scope(caller: Caller) -> None:
    if "lending" not in caller.scope:
        raise Forbidden(message="the token does not carry the lending scope")


# --- products ----------------------------------------------------------------------------------------------
def list_products(caller: Caller, issuer: str) -> dict:
    _check_scope(caller)
    products = []
    for product in PRODUCTS:
        rates = [format_rate_percent(price(grade)) for grade in SPREADS]
        products.append(
            {
                "ProductId": product.product_id,
                "ProductType": product.product_type.value,
                "Name": product.name,
                "MinimumAmount": _amount(product.min_amount_fen),
                "MaximumAmount": _amount(product.max_amount_fen),
                "TermMonths": list(product.terms_months),
                "RepaymentMethods": [m.value for m in product.repayment_methods],
                "AnnualPercentageRate": {"From": min(rates, key=Decimal), "To": max(rates, key=Decimal)},
                "RateBasis": "1-year LPR + spread by risk grade; interest on the remaining principal, monthly",
            }
        )
    return _envelope({"Product": products}, "/lending/v1/products", issuer)


# --- consents ----------------------------------------------------------------------------------------------
def _consent_status(consent: LendingConsent, now: datetime) -> str:
    """The status as of now: an AWAU or AUTH consent past its expiry reads as EXPD."""
    if consent.status in ("AWAU", "AUTH") and now >= consent.expires_at:
        return "EXPD"
    return consent.status


def _consent_body(consent: LendingConsent, now: datetime) -> dict:
    data = {
        "ConsentId": consent.consent_id,
        "Status": _consent_status(consent, now),
        "CreationDateTime": consent.created_at.astimezone(now.tzinfo).isoformat(),
        "StatusUpdateDateTime": consent.status_updated_at.astimezone(now.tzinfo).isoformat(),
        "ExpirationDateTime": consent.expires_at.astimezone(now.tzinfo).isoformat(),
        **{key: value for key, value in consent.details.items() if key not in ("ConsentId", "Status")},
    }
    return data


def _payee_account_id(accounts: ServiceClient, tenant_id: str, payee: dict) -> str:
    """The merchant account an entrusted payment (受托支付) goes to: a business account of this bank."""
    try:
        response = accounts.get(
            f"/internal/v1/tenants/{tenant_id}/accounts/by-identification/{payee['Identification']}"
        )
    except ServiceCallError:
        raise ServiceUnavailable(message="the ledger cannot be reached now; retry later") from None
    if response.status_code == 404:
        raise FieldInvalid("Data.Payee.Identification", "no account of this bank has that number")
    if response.status_code != 200:
        raise ServiceUnavailable(message="the ledger cannot answer now; retry later")
    account = response.json()["Data"]
    if account["AccountClass"] != "CORPORATE" or account["Status"] not in OPEN_ACCOUNT_STATUSES:
        raise FieldInvalid(
            "Data.Payee.Identification", "an entrusted payment goes to an open merchant account"
        )
    return account["AccountId"]


def create_consent(db: Database, accounts: ServiceClient, caller: Caller, data: dict, issuer: str) -> dict:
    """A loan-application consent, AWAU, created with the partner's client-credentials token. With `Payee` the
    loan will be paid to that merchant (受托支付) instead of the customer's own account."""
    _check_scope(caller)
    if caller.is_customer:
        raise Forbidden(message="create a lending consent with a client-credentials token")
    product = PRODUCTS_BY_ID.get(data["ProductId"])
    if product is None:
        raise FieldInvalid(
            "Data.ProductId", f"unknown product {data['ProductId']}; see GET /lending/v1/products"
        )
    amount = Money.from_obie(data["Amount"], path="Data.Amount")
    method = RepaymentMethod(data["RepaymentMethod"])
    problem = check_terms(product, amount.fen, data["TermMonths"], method)
    if problem:
        raise FieldInvalid(problem[0].value, problem[1])
    payee_account_id = (
        _payee_account_id(accounts, caller.tenant_id, data["Payee"]) if data.get("Payee") else None
    )
    details = {key: value for key, value in data.items() if value is not None}
    if data.get("Payee"):
        details["Payee"] = {key: value for key, value in data["Payee"].items() if value is not None}
    details["Amount"] = amount.to_obie()
    with db.write_session() as session:
        now = tenant_now(session, caller.tenant_id)
        consent = LendingConsent(
            tenant_id=caller.tenant_id,
            consent_id=new_id("lac"),
            client_id=caller.client_id,
            status="AWAU",
            product_id=product.product_id,
            amount_fen=amount.fen,
            term_months=data["TermMonths"],
            repayment_method=method.value,
            purpose=data["Purpose"],
            payee_account_id=payee_account_id,
            details=details,
            created_at=now,
            status_updated_at=now,
            expires_at=now + CONSENT_LIFETIME,
        )
        session.add(consent)
        session.commit()
    return _envelope(
        _consent_body(consent, now), f"/lending/v1/loan-application-consents/{consent.consent_id}", issuer
    ) | {"Risk": {}}


def get_consent(db: Database, caller: Caller, consent_id: str, issuer: str) -> dict:
    _check_scope(caller)
    with db.read_session() as session:
        consent = repository.consent(session, caller.tenant_id, consent_id)
        if consent is None or consent.client_id != caller.client_id:
            raise Forbidden(message="the consent is not this client's")  # no existence oracle
        if caller.is_customer and caller.intent_id != consent_id:
            raise Forbidden(message="the token was issued for another consent")
        now = tenant_now(session, caller.tenant_id)
        return _envelope(
            _consent_body(consent, now), f"/lending/v1/loan-application-consents/{consent_id}", issuer
        ) | {"Risk": {}}


def _internal_consent_body(consent: LendingConsent, now: datetime) -> dict:
    return {
        "Data": {
            "ConsentId": consent.consent_id,
            "ClientId": consent.client_id,
            "Status": _consent_status(consent, now),
            "Kind": "loan-application",
            "CustomerId": consent.customer_id,
            "AccountIds": [consent.account_id] if consent.account_id else [],
            "AccountSelection": "one",
            "ExpirationDateTime": consent.expires_at.astimezone(now.tzinfo).isoformat(),
            "Details": consent.details,
        }
    }


def internal_get_consent(db: Database, tenant_id: str, consent_id: str) -> dict:
    with db.read_session() as session:
        consent = repository.consent(session, tenant_id, consent_id)
        if consent is None:
            raise NotFound(message=f"no consent {consent_id}")
        return _internal_consent_body(consent, tenant_now(session, tenant_id))


def _profile_path(tenant_id: str, customer_id: str, product_type: ProductType) -> str:
    organisations = "true" if product_type is ProductType.SME_TAX_LOAN else "false"
    return f"/internal/v1/tenants/{tenant_id}/customers/{customer_id}/cashflow?months=12&organisations={organisations}"


def _profile_from(response) -> dict | None:
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        logger.warning("accounts_cashflow_failed", status=response.status_code, body=response.text[:200])
        raise ServiceUnavailable(message="the ledger cannot answer now; retry later")
    return response.json()["Data"]


def customer_profile(
    accounts: ServiceClient, tenant_id: str, customer_id: str, product_type: ProductType
) -> dict | None:
    """The customer's accounts and ledger features from accounts; None when accounts does not know them."""
    try:
        response = accounts.get(_profile_path(tenant_id, customer_id, product_type))
    except ServiceCallError:
        raise ServiceUnavailable(message="the ledger cannot be reached now; retry later") from None
    return _profile_from(response)


async def customer_profile_async(accounts: ServiceClient, tenant_id: str, customer_id: str) -> dict | None:
    """`customer_profile` for the decision, from an async route: always with the organisations the customer owns
    (one snapshot a month serves both products; the personal rules do not read them)."""
    try:
        response = await accounts.aget(_profile_path(tenant_id, customer_id, ProductType.SME_TAX_LOAN))
    except ServiceCallError:
        raise ServiceUnavailable(message="the ledger cannot be reached now; retry later") from None
    return _profile_from(response)


def eligible_accounts(profile: dict, product_type: ProductType) -> list[str]:
    """Accounts a loan of this product may be paid into: the customer's own (not Class III) for a personal loan,
    the corporate account of a business they own for an SME tax loan."""
    if product_type is ProductType.SME_TAX_LOAN:
        candidates = [a for org in profile.get("OwnedOrganisations", []) for a in org["Accounts"]]
    else:
        candidates = profile["Accounts"]
    return [
        a["AccountId"]
        for a in candidates
        if a["AccountClass"] not in INELIGIBLE_CLASSES and a["Status"] in OPEN_ACCOUNT_STATUSES
    ]


def internal_authorise(
    db: Database, accounts: ServiceClient, tenant_id: str, consent_id: str, body: dict
) -> dict:
    """What the consent page calls: the customer approves or denies the credit inquiry and the application."""
    with db.read_session() as session:
        consent = repository.consent(session, tenant_id, consent_id)
        if consent is None:
            raise NotFound(message=f"no consent {consent_id}")
    if consent.client_id != body["ClientId"]:
        raise Forbidden(message="the consent belongs to another client")
    chosen: str | None = None
    if body["Decision"] == "approve":
        product_type = PRODUCTS_BY_ID[consent.product_id].product_type
        profile = customer_profile(accounts, tenant_id, body["CustomerId"], product_type)
        if profile is None:
            raise BadRequest(message=f"unknown customer {body['CustomerId']}", path="CustomerId")
        eligible = eligible_accounts(profile, product_type)
        requested = body.get("AccountIds")
        if requested is None:
            if not eligible:
                raise BadRequest(
                    message="the customer has no account this loan can be paid into", path="AccountIds"
                )
            chosen = eligible[0]
        else:
            if len(requested) != 1:
                raise FieldInvalid("AccountIds", "a lending consent takes exactly one account")
            if requested[0] not in eligible:
                raise FieldInvalid(
                    "AccountIds[0]", "the account is not the customer's or cannot receive this loan"
                )
            chosen = requested[0]
    with db.write_session() as session:
        consent = repository.consent(session, tenant_id, consent_id, for_update=True)
        assert consent is not None
        now = tenant_now(session, tenant_id)
        if _consent_status(consent, now) != "AWAU":
            raise Conflict(message=f"the consent is {_consent_status(consent, now)}, not AWAU")
        new_status = "AUTH" if body["Decision"] == "approve" else "RJCT"
        consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status, new_status)
        consent.customer_id = body["CustomerId"]
        consent.account_id = chosen
        consent.status_updated_at = now
        session.add(consent)
        session.commit()
        return _internal_consent_body(consent, now)


# --- applications and decisions ----------------------------------------------------------------------------
def _offer_body(application: LoanApplication, decision: CreditDecision, start: date, tz) -> dict | None:
    result = decision.result
    if result["Outcome"] != Outcome.APPROVED or application.offer_id is None:
        return None
    request = decision.request
    rate = Decimal(result["AnnualRate"])
    schedule = build_schedule(
        result["OfferAmountFen"],
        rate,
        request["TermMonths"],
        RepaymentMethod(request["RepaymentMethod"]),
        start,
    )
    return {
        "OfferId": application.offer_id,
        "Amount": _amount(result["OfferAmountFen"]),
        "TermMonths": request["TermMonths"],
        "RepaymentMethod": request["RepaymentMethod"],
        "AnnualPercentageRate": format_rate_percent(rate),
        "TotalInterest": _amount(total_interest_fen(schedule)),
        "Instalments": [instalment_body(i) for i in schedule],
        "ExpirationDateTime": application.offer_expires_at.astimezone(tz).isoformat(),
    }


def _decision_summary(decision: CreditDecision) -> dict:
    return {
        "DecisionId": decision.decision_id,
        "Outcome": decision.outcome,
        "ReasonCodes": list(decision.result["ReasonCodes"]),
        "RulesVersion": decision.rules_version,
    }


def _application_body(application: LoanApplication, decision: CreditDecision, tz) -> dict:
    data = {
        "ApplicationId": application.application_id,
        "ConsentId": application.consent_id,
        "Status": application.status,
        "CreationDateTime": application.created_at.astimezone(tz).isoformat(),
        "Decision": _decision_summary(decision),
    }
    offer = _offer_body(application, decision, date.fromisoformat(decision.request["DecisionDate"]), tz)
    if offer is not None:
        data["Offer"] = offer
    return data


def _check_customer_token(caller: Caller, consent_id: str) -> None:
    if not caller.is_customer:
        raise Forbidden(message="an application needs the customer's token (authorization code grant)")
    if caller.intent_id != consent_id:
        raise ConsentNotUsable(message="the token was issued for another consent", path="Data.ConsentId")


def _usable_consent(caller: Caller, locked: sql.Rows, now: datetime):
    """The consent (its row, read under its lock), when this customer's token may use it now."""
    consent = next(iter(locked.named()), None)
    if consent is None or consent.client_id != caller.client_id or consent.customer_id != caller.subject:
        raise ConsentNotUsable(
            message="the consent is not this customer's with this client", path="Data.ConsentId"
        )
    status = _consent_status(consent, now)
    if status != "AUTH":
        raise ConsentNotUsable(message=f"the consent is {status}, not AUTH", path="Data.ConsentId")
    return consent


@dataclass(frozen=True)
class _Prefetched:
    """What is read before the decision's transaction: the tenant's time, and the ledger's profile when the consent
    looked usable: this month's snapshot, or else asked of accounts (no database connection is held across that
    call: under load, the pool was the queue). The transaction checks the consent again under its lock."""

    now: datetime
    offset_s: int
    product_type: ProductType | None = (
        None  # None: the consent did not look usable; the profile was not asked
    )
    found: dict | None = None
    error: ServiceUnavailable | None = None
    asked_ledger: bool = False  # the profile came from accounts now: keep it as this month's snapshot

    def profile(self) -> dict | None:
        if self.error is not None:
            raise self.error
        return self.found


@dataclass(frozen=True)
class DecisionHint:
    """What a customer's last decision in this process read before its transaction: the tenant's clock offset, the
    consent's product type and the ledger snapshot (its id numbers: all the reads depend on). The next decision sends
    its reads with the key's claim and the consent's lock at once, on the bet that these did not change; the batch's
    own answer (the clock, the consent, this month's snapshot) settles the bet."""

    offset_s: int
    product_type: ProductType
    profile: dict
    read_keys: tuple


class DecisionHints:
    """The hints of this process, by tenant and customer. Only ever a guess: a wrong one costs a round trip."""

    CAPACITY = 100_000  # a few KB each; past it, start again (a hint is cheap to learn)

    def __init__(self) -> None:
        self._hints: dict[tuple[str, str], DecisionHint] = {}

    def get(self, tenant_id: str, customer_id: str) -> DecisionHint | None:
        return self._hints.get((tenant_id, customer_id))

    def learn(self, tenant_id: str, customer_id: str, hint: DecisionHint) -> None:
        if len(self._hints) >= self.CAPACITY:
            self._hints.clear()
        self._hints[(tenant_id, customer_id)] = hint


class _Mispredicted(Exception):
    """The hint did not hold (the clock moved, a new month, another product, another world): the transaction rolls
    back, having written nothing, and the decision takes the usual path."""


def _month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


async def _prefetch(
    adb: AsyncDatabase, accounts: ServiceClient, caller: Caller, consent_id: str
) -> _Prefetched:
    """One statement (the tenant's clock, the consent's parties, the customer's newest ledger snapshot), then, when
    the snapshot is not this month's, the profile from accounts."""
    names = {"tenant_id": caller.tenant_id, "consent_id": consent_id, "customer_id": caller.subject}
    async with adb.unit(write=False) as unit:
        (found,) = await unit.run((repository.CLOCK_AND_CONSENT_PARTIES, names))
    offset_s, client_id, customer_id, status, product_id, snapshot_month, snapshot = found.one()
    offset_s = offset_s or 0
    now = clock_now(offset_s)
    if (client_id, customer_id, status) != (caller.client_id, caller.subject, "AUTH"):
        return _Prefetched(now, offset_s)
    product_type = PRODUCTS_BY_ID[product_id].product_type
    if snapshot_month == _month_of(now):
        return _Prefetched(now, offset_s, product_type, found=snapshot)
    try:
        profile = await customer_profile_async(accounts, caller.tenant_id, caller.subject)
    except ServiceUnavailable as exc:  # raised in the transaction, only if the consent is still usable there
        return _Prefetched(now, offset_s, product_type, error=exc)
    return _Prefetched(now, offset_s, product_type, found=profile, asked_ledger=profile is not None)


async def create_application(
    adb: AsyncDatabase,
    accounts: ServiceClient,
    caller: Caller,
    idempotency_key: str | None,
    body: dict,
    issuer: str,
    hints: DecisionHints | None = None,
) -> StoredResponse:
    """Decide synchronously: gather features, run the rules, store inputs, hits, score and output; consume the
    consent; answer with the decision (and the offer when approved).

    Two round trips to the database on PostgreSQL when this process has a hint for the customer (the usual case):
    the key's claim, the clock, the consent's parties and snapshot, the consent under its lock and the credit file
    in one pipeline; then the decision's rows, the consent's new status, the stored response and the COMMIT.
    Without a hint, or when it proves wrong, three: the clock, the consent's parties and the snapshot first, then
    (after the ledger's profile, if the snapshot is not this month's) the claim, the lock and the credit file, then
    the writes."""
    _check_scope(caller)
    consent_id = body["Data"]["ConsentId"]
    validate_idempotency_key(idempotency_key)
    _check_customer_token(caller, consent_id)
    lock = (repository.CONSENT_LOCKED, {"tenant_id": caller.tenant_id, "consent_id": consent_id})
    hint = hints.get(caller.tenant_id, caller.subject) if hints is not None else None
    if hint is not None:
        try:
            return await _create_on_hint(adb, caller, consent_id, idempotency_key, body, issuer, lock, hint)
        except _Mispredicted:
            pass
    prefetched = await _prefetch(adb, accounts, caller, consent_id)

    async def create(unit: AsyncUnit, now: datetime) -> StoredResponse:
        profile = prefetched.found
        if profile is not None:  # the usual case: everything read in one batch, with the key's claim
            product_type = prefetched.product_type
            reads = feature_gathering.reads(caller.tenant_id, caller.subject, product_type, profile, now)
            locked, *fetched = await unit.run(lock, *reads)
            consent = _usable_consent(caller, locked, now)
            # A consent's product never changes, so the profile asked for it is the right one.
            assert PRODUCTS_BY_ID[consent.product_id].product_type is product_type
        else:
            (locked,) = await unit.run(lock)
            consent = _usable_consent(caller, locked, now)
            product_type = PRODUCTS_BY_ID[consent.product_id].product_type
            if prefetched.product_type is not None:
                profile = prefetched.profile()  # the ledger did not answer: 503, the key stays usable
            else:  # authorised after the prefetch looked: ask now
                profile = await customer_profile_async(
                    accounts, caller.tenant_id, caller.subject, product_type
                )
            if profile is None:
                raise ConsentNotUsable(message="the customer is not known to the ledger")
            fetched = await unit.run(
                *feature_gathering.reads(caller.tenant_id, caller.subject, product_type, profile, now)
            )
        stored = _decide(
            unit, caller, consent, product_type, profile, now, fetched, prefetched.asked_ledger, issuer
        )
        if hints is not None and prefetched.found is not None:  # this month's snapshot, or it is being stored
            read_keys = feature_gathering.read_keys(product_type, profile)
            hints.learn(caller.tenant_id, caller.subject,
                        DecisionHint(prefetched.offset_s, product_type, profile, read_keys))  # fmt: skip
        return stored

    return await _once_per_key(adb, caller, idempotency_key, body, create, prefetched.now)


async def _create_on_hint(
    adb: AsyncDatabase,
    caller: Caller,
    consent_id: str,
    idempotency_key: str | None,
    body: dict,
    issuer: str,
    lock: tuple[sql.Statement, dict],
    hint: DecisionHint,
) -> StoredResponse:
    """The decision with its reads sent at once, as the hint says they will be; `_Mispredicted` when it was wrong.
    The clock is checked before anything else (the consent's expiry and every window depend on the time), the
    product and the snapshot before the features are gathered from what came back."""
    names = {"tenant_id": caller.tenant_id, "consent_id": consent_id, "customer_id": caller.subject}
    now = clock_now(hint.offset_s)

    async def create(unit: AsyncUnit, now: datetime) -> StoredResponse:
        reads = feature_gathering.reads(
            caller.tenant_id, caller.subject, hint.product_type, hint.profile, now
        )
        found, locked, *fetched = await unit.run((repository.CLOCK_AND_CONSENT_PARTIES, names), lock, *reads)
        offset_s, _client, _customer, _status, _product, snapshot_month, snapshot = found.one()
        if (offset_s or 0) != hint.offset_s:
            raise _Mispredicted
        consent = _usable_consent(caller, locked, now)
        product_type = PRODUCTS_BY_ID[consent.product_id].product_type
        if (
            product_type is not hint.product_type
            or snapshot_month != _month_of(now)
            or feature_gathering.read_keys(product_type, snapshot) != hint.read_keys
        ):
            raise _Mispredicted
        return _decide(unit, caller, consent, product_type, snapshot, now, fetched, False, issuer)

    return await _once_per_key(adb, caller, idempotency_key, body, create, now)


async def _once_per_key(
    adb: AsyncDatabase, caller: Caller, key: str | None, body: dict, create, now: datetime
) -> StoredResponse:
    """`create` in a unit with the idempotency key's claim, its answer stored with its writes (the same for a key)."""
    return await AsyncIdempotencyStore(adb).run(
        tenant_id=caller.tenant_id,
        client_id=caller.client_id,
        operation=CREATE_APPLICATION,
        key=key,
        body=body,
        create=create,
        now=now,
    )


def _decide(
    unit: AsyncUnit,
    caller: Caller,
    consent,
    product_type: ProductType,
    profile: dict,
    now: datetime,
    fetched: list[sql.Rows],
    asked_ledger: bool,
    issuer: str,
) -> StoredResponse:
    """The decision from the gathered features; its rows, the consent's new status (and a new snapshot) deferred to
    the unit's last batch. The answer to send."""
    consent_id = consent.consent_id
    features = feature_gathering.gather(product_type, profile, now, fetched)
    request = DecisionRequest(
        product_id=consent.product_id,
        amount_fen=consent.amount_fen,
        term_months=consent.term_months,
        repayment_method=consent.repayment_method,
        decision_date=now.date(),
    )
    result = decide(request, features)
    application_id, decision_id = new_id("lap"), new_id("dec")
    decision = {
        "tenant_id": caller.tenant_id,
        "decision_id": decision_id,
        "application_id": application_id,
        "client_id": caller.client_id,
        "customer_id": caller.subject,
        "rules_version": result.rules_version,
        "outcome": result.outcome.value,
        "request": decision_request_json(request),
        "features": features.to_json(),
        "result": result.to_json(),
        "decided_at": now,
    }
    approved = result.outcome is Outcome.APPROVED
    application = {
        "tenant_id": caller.tenant_id,
        "application_id": application_id,
        "consent_id": consent_id,
        "client_id": caller.client_id,
        "customer_id": caller.subject,
        "status": result.outcome.value,
        "decision_id": decision_id,
        "offer_id": new_id("off") if approved else None,
        "offer_expires_at": now + timedelta(days=OFFER_VALIDITY_DAYS) if approved else None,
        "created_at": now,
    }
    consumed = transition(CONSENT_TRANSITIONS, "consent", consent.status, "COND")
    status_change = {
        "b_tenant": caller.tenant_id,
        "b_consent": consent_id,
        "new_status": consumed,
        "at": now,
    }
    # Sent with the stored response and the COMMIT, as one statement (AsyncIdempotencyStore).
    if asked_ledger:
        snapshot = {"tenant_id": caller.tenant_id, "customer_id": caller.subject, "month": _month_of(now),
                    "profile": profile, "fetched_at": now}  # fmt: skip
        unit.defer(repository.SNAPSHOT_INSERTS[unit.dialect.name], snapshot)
    unit.defer(repository.SET_CONSENT_STATUS, status_change)
    unit.defer(sql.insert_statement(CreditDecision.__table__), decision)
    unit.defer(sql.insert_statement(LoanApplication.__table__), application)
    body = _envelope(
        _application_body(SimpleNamespace(**application), SimpleNamespace(**decision), now.tzinfo),
        f"/lending/v1/applications/{application_id}",
        issuer,
    )
    return StoredResponse(201, body, application_id)


def decision_request_json(request: DecisionRequest) -> dict:
    return {
        "ProductId": request.product_id,
        "AmountFen": request.amount_fen,
        "TermMonths": request.term_months,
        "RepaymentMethod": request.repayment_method,
        "DecisionDate": request.decision_date.isoformat(),
    }


def decision_request_from_json(data: dict) -> DecisionRequest:
    return DecisionRequest(
        product_id=data["ProductId"],
        amount_fen=data["AmountFen"],
        term_months=data["TermMonths"],
        repayment_method=data["RepaymentMethod"],
        decision_date=date.fromisoformat(data["DecisionDate"]),
    )


def replay_decision(decision: CreditDecision) -> tuple[DecisionResult, bool]:
    """Re-run a stored decision from its stored inputs; True when it reproduces the stored output exactly."""
    if decision.rules_version != RULES_VERSION:
        raise ValueError(
            f"decision was made by rules {decision.rules_version}; this build runs {RULES_VERSION}"
        )
    result = decide(decision_request_from_json(decision.request), Features.from_json(decision.features))
    return result, result.to_json() == decision.result


def _owned_by_client(caller: Caller, client_id: str, customer_id: str) -> bool:
    if caller.client_id != client_id:
        return False
    return not caller.is_customer or caller.subject == customer_id


def get_application(db: Database, caller: Caller, application_id: str, issuer: str) -> dict:
    _check_scope(caller)
    with db.read_session() as session:
        application = repository.application(session, caller.tenant_id, application_id)
        if application is None or not _owned_by_client(
            caller, application.client_id, application.customer_id
        ):
            raise Forbidden(message="the application is not this client's")
        decision = repository.decision(session, caller.tenant_id, application.decision_id)
        now = tenant_now(session, caller.tenant_id)
        return _envelope(
            _application_body(application, decision, now.tzinfo),
            f"/lending/v1/applications/{application_id}",
            issuer,
        )


def decision_detail(decision: CreditDecision, tz) -> dict:
    """A decision's inputs, rule hits, score and output (the partner's view and the sandbox inspector's)."""
    result = decision.result
    return {
        **_decision_summary(decision),
        "ApplicationId": decision.application_id,
        "DecisionDateTime": decision.decided_at.astimezone(tz).isoformat(),
        "Inputs": {"Request": decision.request, "Features": decision.features},
        "RuleHits": result["RuleHits"],
        "Score": result["Score"],
        "ScorePoints": result["ScorePoints"],
        "Grade": result["Grade"],
        "Limit": None if result["LimitFen"] is None else _amount(result["LimitFen"]),
        "OfferedAmount": None if result["OfferAmountFen"] is None else _amount(result["OfferAmountFen"]),
        "AnnualPercentageRate": None
        if result["AnnualRate"] is None
        else format_rate_percent(Decimal(result["AnnualRate"])),
        "TotalInterest": None if result["TotalInterestFen"] is None else _amount(result["TotalInterestFen"]),
    }


def get_decision(db: Database, caller: Caller, decision_id: str, issuer: str) -> dict:
    """A decision's inputs, rule hits, score and output, for the partner's developer (sandbox)."""
    _check_scope(caller)
    with db.read_session() as session:
        decision = repository.decision(session, caller.tenant_id, decision_id)
        if decision is None or not _owned_by_client(caller, decision.client_id, decision.customer_id):
            raise Forbidden(message="the decision is not this client's")
        now = tenant_now(session, caller.tenant_id)
        data = decision_detail(decision, now.tzinfo)
        return _envelope(data, f"/lending/v1/decisions/{decision_id}", issuer)


# --- offers → loans ----------------------------------------------------------------------------------------
def _loan_body(loan: Loan, tz) -> dict:
    return {
        "LoanId": loan.loan_id,
        "ApplicationId": loan.application_id,
        "ProductId": loan.product_id,
        "Status": loan.status,
        "Principal": _amount(loan.principal_fen),
        "OutstandingPrincipal": _amount(loan.outstanding_principal_fen),
        "AnnualPercentageRate": format_rate_percent(Decimal(loan.annual_rate)),
        "TermMonths": loan.term_months,
        "RepaymentMethod": loan.repayment_method,
        "DisbursementAccountId": loan.disbursement_account_id,
        "RepaymentAccountId": loan.repayment_account_id,
        **({"LoanAccountId": loan.loan_account_id} if loan.loan_account_id else {}),  # the AISP LOAN account
        "StartDate": loan.start_date.isoformat(),
        "CreationDateTime": loan.created_at.astimezone(tz).isoformat(),
        **(
            {"DisbursementDateTime": loan.disbursed_at.astimezone(tz).isoformat()}
            if loan.disbursed_at
            else {}
        ),
        **(
            {"DisbursementTransactionId": loan.disbursement_transaction_id}
            if loan.disbursement_transaction_id
            else {}
        ),
    }


def _post_to_ledger(accounts: ServiceClient, tenant_id: str, key: str, posting: dict) -> dict:
    """Post once per key; a duplicate still in flight (409) is waited for, never re-posted under another key."""
    for _attempt in range(LEDGER_IN_PROGRESS_RETRIES):
        try:
            response = accounts.post(
                f"/internal/v1/tenants/{tenant_id}/ledger/transactions",
                json=posting,
                idempotency_key=key,
                headers={"x-openbank-service": LEDGER_CALLER},  # scopes the ledger idempotency keys
            )
        except ServiceCallError:
            raise ServiceUnavailable(message="the ledger cannot be reached now; retry later") from None
        if response.status_code == 201:
            return response.json()
        if response.status_code == 409:
            time.sleep(LEDGER_IN_PROGRESS_WAIT_S)
            continue
        if 400 <= response.status_code < 500:
            errors = response.json().get("Errors") or [{}]
            raise RepaymentRefused(message=f"the ledger refused the posting: {errors[0].get('Message', '')}")
        raise ServiceUnavailable(message="the ledger cannot answer now; retry later")
    raise ServiceUnavailable(message="the ledger is still processing this posting; retry later")


def _open_loan_account(accounts: ServiceClient, loan: Loan) -> str:
    """The loan's receivable account in the ledger, in the borrower's name (idempotent by LoanId)."""
    product = PRODUCTS_BY_ID[loan.product_id]
    body = {"LoanId": loan.loan_id, "BorrowerAccountId": loan.repayment_account_id,
            "Nickname": f"{product.name} {loan.loan_id[-6:]}"[:70]}  # fmt: skip
    try:
        response = accounts.post(
            f"/internal/v1/tenants/{loan.tenant_id}/loan-accounts", json=body, idempotency_key=loan.loan_id
        )
    except ServiceCallError:
        raise ServiceUnavailable(message="the ledger cannot be reached now; retry later") from None
    if response.status_code not in (200, 201):
        logger.warning("loan_account_not_opened", loan_id=loan.loan_id, status=response.status_code,
                       body=response.text[:200])  # fmt: skip
        raise ServiceUnavailable(message="the ledger cannot open the loan account now; retry later")
    return response.json()["Data"]["AccountId"]


def _disburse(db: Database, accounts: ServiceClient, loan: Loan) -> Loan:
    """DISBURSING → ACTIVE once the ledger confirms the posting (key derived from the loan id: never twice):
    Dr the loan's receivable account, Cr the customer's (or, 受托支付, the merchant's) account."""
    if loan.status != "DISBURSING":
        return loan
    loan_account_id = _open_loan_account(accounts, loan)
    posting = {
        "Category": "LOAN_DISBURSEMENT",
        "Description": f"贷款发放 loan disbursement {loan.loan_id}",
        "Reference": loan.loan_id,
        "CounterpartyName": "OpenBank Sandbox 快贷",
        "Postings": _legs(loan_account_id, [(loan.disbursement_account_id, loan.principal_fen)]),
    }
    transaction = _post_to_ledger(accounts, loan.tenant_id, f"disb-{loan.loan_id}", posting)
    with db.write_session() as session:
        current = repository.loan(session, loan.tenant_id, loan.loan_id, for_update=True)
        assert current is not None
        if current.status == "DISBURSING":
            now = tenant_now(session, loan.tenant_id)
            current.status = transition(LOAN_TRANSITIONS, "loan", current.status, "ACTIVE")
            current.disbursement_transaction_id = transaction["TransactionId"]
            current.disbursed_at = now
            current.loan_account_id = loan_account_id
            session.add(current)
            loan_events.record(session, current, loan_events.DISBURSED, now)
            session.commit()
        return current


def accept_offer(
    db: Database,
    accounts: ServiceClient,
    payments: ServiceClient,
    caller: Caller,
    application_id: str,
    idempotency_key: str | None,
    body: dict,
    issuer: str,
) -> dict:
    """Offer → loan (DISBURSING) → ledger posting → ACTIVE. Accepting again returns the same loan; money moves
    once. A crash after the loan is recorded leaves it DISBURSING and the next accept (or read) finishes it."""
    _check_scope(caller)
    validate_idempotency_key(idempotency_key)
    offer_id = body["Data"]["OfferId"]
    with db.write_session() as session:
        application = repository.application(session, caller.tenant_id, application_id, for_update=True)
        if (
            application is None
            or not caller.is_customer
            or not _owned_by_client(caller, application.client_id, application.customer_id)
        ):
            raise Forbidden(message="the application is not this customer's with this client")
        now = tenant_now(session, caller.tenant_id)
        if application.offer_id is None or application.offer_id != offer_id:
            raise OfferNotAcceptable(message="no such offer on this application", path="Data.OfferId")
        loan = repository.loan_for_application(session, caller.tenant_id, application_id)
        if loan is None:
            if application.status != "APPROVED":
                raise OfferNotAcceptable(
                    message=f"the application is {application.status}", path="Data.OfferId"
                )
            if now >= application.offer_expires_at:
                raise OfferNotAcceptable(message="the offer has expired", path="Data.OfferId")
            loan = _new_loan(session, caller, application, now)
            application.status = transition(
                APPLICATION_TRANSITIONS, "application", application.status, "ACCEPTED"
            )
            session.add(application)
            session.commit()
    loan = _disburse(db, accounts, loan)
    loan_events.publish_pending(db, payments, caller.tenant_id)  # never fails the acceptance
    return _envelope(_loan_body(loan, now.tzinfo), f"/lending/v1/loans/{loan.loan_id}", issuer)


def _new_loan(session: Session, caller: Caller, application: LoanApplication, now: datetime) -> Loan:
    decision = repository.decision(session, caller.tenant_id, application.decision_id)
    consent = repository.consent(session, caller.tenant_id, application.consent_id)
    assert decision is not None and consent is not None and consent.account_id
    result, request = decision.result, decision.request
    amount_fen = result["OfferAmountFen"]
    product = PRODUCTS_BY_ID[request["ProductId"]]
    if product.product_type is ProductType.PERSONAL_QUICK_LOAN:
        personal = [p.product_id for p in PRODUCTS if p.product_type is ProductType.PERSONAL_QUICK_LOAN]
        existing_fen = repository.outstanding_principal_fen(
            session, caller.tenant_id, caller.subject, personal
        )
        if existing_fen + amount_fen > UNSECURED_PERSONAL_CAP_FEN:
            raise OfferNotAcceptable(
                message="accepting would take the customer's unsecured loans at this bank above 200000.00 CNY",
                path="Data.OfferId",
            )
    loan = Loan(
        tenant_id=caller.tenant_id,
        loan_id=new_id("loan"),
        application_id=application.application_id,
        offer_id=application.offer_id,
        client_id=caller.client_id,
        customer_id=caller.subject,
        product_id=product.product_id,
        principal_fen=amount_fen,
        outstanding_principal_fen=amount_fen,
        annual_rate=result["AnnualRate"],
        term_months=request["TermMonths"],
        repayment_method=request["RepaymentMethod"],
        status="DISBURSING",
        disbursement_account_id=consent.payee_account_id or consent.account_id,
        repayment_account_id=consent.account_id,
        start_date=now.date(),
        created_at=now,
    )
    schedule = build_schedule(
        amount_fen,
        Decimal(loan.annual_rate),
        loan.term_months,
        RepaymentMethod(loan.repayment_method),
        loan.start_date,
    )
    session.add(loan)
    session.flush()  # the unique (tenant, application) constraint refuses a second loan here
    session.add_all(_instalment_rows(loan, schedule))
    return loan


def _instalment_rows(loan: Loan, schedule: list[Instalment]) -> list[LoanInstalment]:
    return [
        LoanInstalment(
            tenant_id=loan.tenant_id,
            loan_id=loan.loan_id,
            sequence=i.sequence,
            due_date=i.due_date,
            principal_fen=i.principal_fen,
            interest_fen=i.interest_fen,
            remaining_principal_fen=i.remaining_principal_fen,
            status="DUE",
        )
        for i in schedule
    ]


def _customer_loan(session: Session, caller: Caller, loan_id: str, *, for_update: bool = False) -> Loan:
    _check_scope(caller)
    loan = repository.loan(session, caller.tenant_id, loan_id, for_update=for_update)
    if loan is None or not _owned_by_client(caller, loan.client_id, loan.customer_id):
        raise Forbidden(message="the loan is not this client's")
    return loan


def get_loan(
    db: Database, accounts: ServiceClient, payments: ServiceClient, caller: Caller, loan_id: str, issuer: str
) -> dict:
    with db.read_session() as session:
        loan = _customer_loan(session, caller, loan_id)
        tz = tenant_now(session, caller.tenant_id).tzinfo
    loan = _disburse(db, accounts, loan)  # finishes a disbursement a crash interrupted (same ledger key)
    loan_events.publish_pending(db, payments, caller.tenant_id)
    return _envelope(_loan_body(loan, tz), f"/lending/v1/loans/{loan_id}", issuer)


def get_schedule(db: Database, caller: Caller, loan_id: str, issuer: str) -> dict:
    with db.read_session() as session:
        loan = _customer_loan(session, caller, loan_id)
        rows = repository.instalments(session, caller.tenant_id, loan_id)
        data = {
            "LoanId": loan.loan_id,
            "Instalment": [instalment_body(row) | {"Status": row.status} for row in rows],
        }
        return _envelope(data, f"/lending/v1/loans/{loan_id}/schedule", issuer)


# --- repayments --------------------------------------------------------------------------------------------
def _interest_from(
    loan: Loan, rows: list[LoanInstalment], repayments: list[LoanRepayment], today: date, tz
) -> date:
    """Interest on the remaining principal runs from the last due date passed (whatever that instalment's
    status: a PAID one has collected its interest), the last early repayment (which paid what had accrued), or
    the start."""
    passed = [row.due_date for row in rows if row.due_date <= today]
    prepaid = [r.created_at.astimezone(tz).date() for r in repayments if r.kind == "PARTIAL"]
    return max([loan.start_date, *passed, *prepaid])


def repay(
    db: Database,
    accounts: ServiceClient,
    payments: ServiceClient,
    caller: Caller,
    loan_id: str,
    idempotency_key: str | None,
    body: dict,
    issuer: str,
) -> StoredResponse:
    """Early repayment. Interest accrued since the last due date (daily rate = annual / 360) is paid first, the
    rest reduces principal; the remaining instalments are recomputed over the same remaining due dates with the
    same method, the first of them charging interest only from the repayment date. FULL pays everything off."""
    data = body["Data"]
    amount = Money.from_obie(data["Amount"], path="Data.Amount")
    key = validate_idempotency_key(idempotency_key)

    def create(session: Session, now: datetime) -> StoredResponse:
        loan = _customer_loan(session, caller, loan_id, for_update=True)
        if not caller.is_customer:
            raise Forbidden(message="a repayment needs the customer's token")
        if loan.status != "ACTIVE":
            # An OVERDUE loan is collected by the clock (with its penalty interest) before it can be prepaid.
            raise RepaymentRefused(message=f"the loan is {loan.status}", path="Data.Amount.Amount")
        today = now.date()
        all_rows = repository.instalments(session, caller.tenant_id, loan_id)
        rows = [r for r in all_rows if r.status == "DUE" and r.due_date > today]  # what is recomputed
        rate = Decimal(loan.annual_rate)
        earlier = repository.repayments(session, caller.tenant_id, loan_id)
        interest_from = _interest_from(loan, all_rows, earlier, today, now.tzinfo)
        accrued_fen = accrued_interest_fen(loan.outstanding_principal_fen, rate, (today - interest_from).days)
        payoff_fen = loan.outstanding_principal_fen + accrued_fen
        if amount.fen > payoff_fen:
            raise RepaymentRefused(
                message=f"{amount.to_wire()} CNY is more than the {Money.from_fen(payoff_fen).to_wire()} CNY owed",
                path="Data.Amount.Amount",
            )
        full = data["Type"] == "FULL" or amount.fen == payoff_fen
        if data["Type"] == "FULL" and amount.fen != payoff_fen:
            raise RepaymentRefused(
                message=f"a FULL repayment today is {Money.from_fen(payoff_fen).to_wire()} CNY",
                path="Data.Amount.Amount",
            )
        if amount.fen <= accrued_fen:
            raise RepaymentRefused(
                message=f"a repayment must exceed the {Money.from_fen(accrued_fen).to_wire()} CNY interest accrued",
                path="Data.Amount.Amount",
            )
        if not full and not rows:
            raise RepaymentRefused(message="no future instalment is left: repay in FULL", path="Data.Type")
        principal_fen = amount.fen - accrued_fen
        repayment_id = new_id("lrp")
        digest = hashlib.sha256(f"{caller.tenant_id}:{loan_id}:{key}".encode()).hexdigest()[:32]
        legs = _legs(
            loan.repayment_account_id,
            [(_principal_account_id(loan), principal_fen), (INTEREST_INCOME_ACCOUNT_ID, accrued_fen)],
        )
        transaction = _post_to_ledger(
            accounts,
            caller.tenant_id,
            f"rep-{digest}",
            {
                "Category": "LOAN_REPAYMENT",
                "Description": f"提前还款 early repayment {loan_id}",
                "Reference": loan_id,
                "CounterpartyName": "OpenBank Sandbox 快贷",
                "Postings": legs,
            },
        )
        loan.outstanding_principal_fen -= principal_fen
        for row in rows:
            row.status = "CANCELLED"
            session.add(row)
        session.flush()
        if full or loan.outstanding_principal_fen == 0:
            loan.status = transition(LOAN_TRANSITIONS, "loan", loan.status, "CLOSED")
        else:
            schedule = reschedule_after_prepayment(
                loan.outstanding_principal_fen,
                rate,
                RepaymentMethod(loan.repayment_method),
                [row.due_date for row in rows],
                rows[0].sequence,
                today,
            )
            for row in _instalment_rows(loan, schedule):
                session.merge(row)
        session.add(loan)
        change = loan_events.REPAID if loan.status == "CLOSED" else loan_events.PREPAID
        loan_events.record(session, loan, change, now)
        session.add(
            LoanRepayment(
                tenant_id=caller.tenant_id,
                repayment_id=repayment_id,
                loan_id=loan_id,
                kind="FULL" if full else "PARTIAL",
                amount_fen=amount.fen,
                principal_fen=principal_fen,
                interest_fen=accrued_fen,
                status="BOOKED",
                transaction_id=transaction["TransactionId"],
                created_at=now,
            )
        )
        data_out = {
            "RepaymentId": repayment_id,
            "LoanId": loan_id,
            "Type": "FULL" if full else "PARTIAL",
            "Amount": amount.to_obie(),
            "Principal": _amount(principal_fen),
            "Interest": _amount(accrued_fen),
            "OutstandingPrincipal": _amount(loan.outstanding_principal_fen),
            "LoanStatus": loan.status,
            "TransactionId": transaction["TransactionId"],
            "CreationDateTime": now.isoformat(),
        }
        return StoredResponse(
            201, _envelope(data_out, f"/lending/v1/loans/{loan_id}/repayments", issuer), repayment_id
        )

    stored = IdempotencyStore(db).run(
        tenant_id=caller.tenant_id,
        client_id=caller.client_id,
        operation=CREATE_REPAYMENT,
        key=idempotency_key,
        body=body,
        create=create,
    )
    loan_events.publish_pending(db, payments, caller.tenant_id)  # never fails the repayment
    return stored


# --- the sandbox clock: instalments fall due --------------------------------------------------------------
MAX_LOANS_PER_SWEEP = 1000  # bound per clock move; a sandbox tenant has a handful of loans


def penalty_interest_fen(overdue_fen: int, annual_rate: Decimal, days: int) -> int:
    """罚息: the overdue instalment (principal and its unpaid interest, so interest on interest too) accrues at the
    contract rate +50% per day overdue (daily rate = annual / 360), rounded to the fen."""
    return accrued_interest_fen(overdue_fen, annual_rate * (1 + PENALTY_RATE_UPLIFT), days)


def run_due_instalments(
    db: Database, accounts: ServiceClient, payments: ServiceClient, tenant_id: str
) -> dict:
    """What the clock's move made happen: every instalment due by today is auto-debited from the repayment
    account; one the account cannot cover leaves the loan OVERDUE and accrues penalty interest until collected
    on a later move. Interrupted disbursements are finished too, and every loan event not yet published is."""
    with db.read_session() as session:
        today = tenant_now(session, tenant_id).date()
        loans = repository.open_loans(session, tenant_id, MAX_LOANS_PER_SWEEP)
    collected = overdue = 0
    for loan in loans:
        if loan.status == "DISBURSING":
            _disburse(db, accounts, loan)
            continue
        outcome = _collect_due(db, accounts, tenant_id, loan.loan_id, today)
        collected += outcome[0]
        overdue += outcome[1]
    published = loan_events.publish_pending(db, payments, tenant_id)
    return {"Collected": collected, "Overdue": overdue, "EventsPublished": published}


def _collect_due(
    db: Database, accounts: ServiceClient, tenant_id: str, loan_id: str, today: date
) -> tuple[int, int]:
    collected = overdue = 0
    newly_overdue = False
    with db.write_session() as session:
        loan = repository.loan(session, tenant_id, loan_id, for_update=True)
        if loan is None or loan.status not in ("ACTIVE", "OVERDUE"):
            return 0, 0
        now = tenant_now(session, tenant_id)
        rate = Decimal(loan.annual_rate)
        due_rows = [
            row
            for row in repository.instalments(session, tenant_id, loan_id)
            if row.status in ("DUE", "OVERDUE") and row.due_date <= today
        ]
        for row in due_rows:  # oldest first; bounded by the loan's term
            owed_fen = row.principal_fen + row.interest_fen
            # A DUE instalment is the auto-debit of its due date (the clock jumped over it): no penalty. One the
            # due-date debit could not cover is OVERDUE and accrues penalty from its due date.
            late_days = (today - row.due_date).days if row.status == "OVERDUE" else 0
            penalty_fen = penalty_interest_fen(owed_fen, rate, late_days)
            total_fen = owed_fen + penalty_fen
            legs = _legs(
                loan.repayment_account_id,
                [
                    (_principal_account_id(loan), row.principal_fen),
                    (INTEREST_INCOME_ACCOUNT_ID, row.interest_fen),
                    (PENALTY_INCOME_ACCOUNT_ID, penalty_fen),
                ],
            )
            posting = {
                "Category": "LOAN_REPAYMENT",
                "Description": f"贷款还款 instalment {row.sequence} of {loan_id}",
                "Reference": loan_id,
                "CounterpartyName": "OpenBank Sandbox 快贷",
                "Postings": legs,
            }
            # One key per instalment and amount: a retry of the same collection never debits twice.
            key = f"due-{loan_id[-26:]}-{row.sequence}-{total_fen}"[:40]
            try:
                _post_to_ledger(accounts, tenant_id, key, posting)
            except RepaymentRefused:  # insufficient funds: this and every later due instalment are overdue
                for unpaid in due_rows[due_rows.index(row) :]:
                    newly_overdue = newly_overdue or unpaid.status == "DUE"
                    unpaid.status = "OVERDUE"
                    session.add(unpaid)
                    overdue += 1
                break
            row.status = "PAID"
            session.add(
                LoanRepayment(
                    tenant_id=tenant_id,
                    repayment_id=new_id("lrp"),
                    loan_id=loan_id,
                    kind="INSTALMENT",
                    amount_fen=total_fen,
                    principal_fen=row.principal_fen,
                    interest_fen=row.interest_fen,
                    penalty_fen=penalty_fen,
                    status="BOOKED",
                    created_at=now,
                )
            )
            row.interest_fen += penalty_fen  # the schedule shows what was actually charged
            session.add(row)
            loan.outstanding_principal_fen -= row.principal_fen
            collected += 1
        still_overdue = any(row.status == "OVERDUE" for row in due_rows)
        target = "CLOSED" if loan.outstanding_principal_fen == 0 else "OVERDUE" if still_overdue else "ACTIVE"
        before = loan.status
        if target != loan.status:
            loan.status = transition(LOAN_TRANSITIONS, "loan", loan.status, target)
        session.add(loan)
        # Events in the order things happened: the instalments paid, then the status the loan ended in.
        for _ in range(collected):
            loan_events.record(session, loan, loan_events.INSTALMENT_PAID, now)
        if target == "CLOSED":
            loan_events.record(session, loan, loan_events.REPAID, now)
        elif newly_overdue:
            loan_events.record(session, loan, loan_events.OVERDUE, now)
        elif before == "OVERDUE" and target == "ACTIVE":
            loan_events.record(session, loan, loan_events.OVERDUE_CLEARED, now)
        session.commit()
    return collected, overdue
