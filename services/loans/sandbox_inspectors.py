"""What the sandbox shows of lending (docs/sandbox-api.md): a customer's consents and their revocation, the
tenant's credit decisions with their inputs and rule hits, and a customer's credit-bureau summary."""

from __future__ import annotations

from datetime import datetime, timedelta

from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, NotFound
from openbank_kit.money import Money
from services.loans import repository
from services.loans.domain.products import PRODUCTS
from services.loans.domain.states import CONSENT_TRANSITIONS, transition
from services.loans.models import LendingConsent
from services.loans.service import _consent_status, decision_detail

MAX_CUSTOMER_CONSENTS = 200
MAX_DECISIONS = 200
REVOCABLE = ("AWAU", "AUTH")
INQUIRY_WINDOW = timedelta(days=183)  # "recent inquiries": the last six months, as the decision counts them


def _iso(moment: datetime | None, now: datetime) -> str | None:
    return moment.astimezone(now.tzinfo).isoformat() if moment is not None else None


def _amount(fen: int) -> dict[str, str]:
    return Money.from_fen(fen, "CNY").to_obie()


def _consent_row(consent: LendingConsent, now: datetime) -> dict:
    amount = Money.from_fen(consent.amount_fen, "CNY").to_obie()
    return {
        "ConsentId": consent.consent_id,
        "Kind": "loan-application",
        "ClientId": consent.client_id,
        "Status": _consent_status(consent, now),
        "CreationDateTime": _iso(consent.created_at, now),
        "StatusUpdateDateTime": _iso(consent.status_updated_at, now),
        "ExpirationDateTime": _iso(consent.expires_at, now),
        "AccountIds": [consent.account_id] if consent.account_id else [],
        "Permissions": [],
        "Summary": f"credit inquiry and application: {consent.product_id}, {amount['Amount']} "
        f"{amount['Currency']} over {consent.term_months} months ({consent.purpose})",
    }


def customer_consents(db: Database, tenant_id: str, customer_id: str) -> dict:
    with db.read_session() as session:
        now = tenant_now(session, tenant_id)
        consents = repository.consents_of_customer(session, tenant_id, customer_id, MAX_CUSTOMER_CONSENTS)
        return {"Data": {"Consent": [_consent_row(consent, now) for consent in consents]}}


def revoke_consent(db: Database, tenant_id: str, consent_id: str, customer_id: str) -> dict:
    """The customer withdraws a lending consent before it is used: CANC; an application can no longer use it.

    Another customer's consent answers 404 like an unknown one; revoking twice changes nothing.
    """
    with db.write_session() as session:
        now = tenant_now(session, tenant_id)
        consent = repository.consent(session, tenant_id, consent_id, for_update=True)
        if consent is None or consent.customer_id != customer_id:
            raise NotFound(message=f"the customer has no consent {consent_id}")
        status = _consent_status(consent, now)
        if status == "CANC":
            return {"Data": _consent_row(consent, now)}
        if status not in REVOCABLE:
            raise Conflict(message=f"the consent is {status}; only AUTH or AWAU can be revoked")
        consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status, "CANC")
        consent.status_updated_at = now
        session.add(consent)
        session.commit()
        return {"Data": _consent_row(consent, now)}


def _decision_row(decision, application, tz) -> dict:
    return {
        **decision_detail(decision, tz),
        "ConsentId": application.consent_id if application is not None else None,
        "ClientId": decision.client_id,
        "CustomerId": decision.customer_id,
    }


def list_decisions(db: Database, tenant_id: str, limit: int) -> dict:
    """The tenant's credit decisions, newest first."""
    limit = max(1, min(limit, MAX_DECISIONS))
    with db.read_session() as session:
        tz = tenant_now(session, tenant_id).tzinfo
        decisions = repository.recent_decisions(session, tenant_id, limit)
        applications = repository.applications_by_id(
            session, tenant_id, [d.application_id for d in decisions]
        )
        rows = [_decision_row(d, applications.get(d.application_id), tz) for d in decisions]
    return {"Data": {"Decision": rows}}


def get_decision(db: Database, tenant_id: str, decision_id: str) -> dict:
    with db.read_session() as session:
        decision = repository.decision(session, tenant_id, decision_id)
        if decision is None:
            raise NotFound(message=f"no decision {decision_id} in this tenant")
        tz = tenant_now(session, tenant_id).tzinfo
        application = repository.applications_by_id(session, tenant_id, [decision.application_id]).get(
            decision.application_id
        )
        return {"Data": {"Decision": [_decision_row(decision, application, tz)]}}


def bureau_summary(db: Database, tenant_id: str, customer_id: str) -> dict:
    """What the credit bureau and the bank's own books say of a customer (the data the decision reads)."""
    with db.read_session() as session:
        now = tenant_now(session, tenant_id)
        subject = repository.bureau_subject(session, tenant_id, customer_id)
        if subject is None:
            raise NotFound(message=f"no bureau file for customer {customer_id}")
        credit = repository.bureau_accounts(session, tenant_id, customer_id)
        inquiries = repository.bureau_inquiries(
            session, tenant_id, customer_id, (now - INQUIRY_WINDOW).date()
        )
        listed = repository.blacklist_entries(session, tenant_id, subject.id_number)
        tax = repository.tax_profile(session, tenant_id, customer_id)
        open_credit = [account for account in credit if account.status != "CLOSED"]
        bank_outstanding_fen = repository.outstanding_principal_fen(
            session, tenant_id, customer_id, [product.product_id for product in PRODUCTS]
        )
    summary = {
        "CustomerId": customer_id,
        "ReportDate": subject.report_date.isoformat(),
        "FirstCreditDate": subject.first_credit_on.isoformat() if subject.first_credit_on else None,
        "OpenCreditAccounts": len(open_credit),
        "OpenLoanLenders": sorted({account.lender_name for account in open_credit}),
        "TotalOutstanding": _amount(sum(account.outstanding_fen for account in open_credit)),
        "MonthlyRepayments": _amount(sum(account.monthly_payment_fen for account in open_credit)),
        "OverdueCount24Months": sum(account.overdue_count_24m for account in credit),
        "MaxOverdueDays24Months": max((account.max_overdue_days_24m for account in credit), default=0),
        "CurrentlyOverdue": _amount(sum(account.current_overdue_fen for account in credit)),
        "InquiriesLast6Months": len(inquiries),
        "FraudBlacklisted": bool(listed),
        "BlacklistReasons": [entry.reason for entry in listed],
        "OutstandingAtThisBank": _amount(bank_outstanding_fen),
        "TaxProfile": None
        if tax is None
        else {"TaxCreditGrade": tax.tax_credit_grade, "RegisteredOn": tax.registered_on.isoformat(),
              "Industry": tax.industry},
    }  # fmt: skip
    return {"Data": {"Bureau": summary}}
