"""Sandbox faults that payments acts on (docs/sandbox-faults.md); the gateway handles the transport faults.

- `payment-rejected` on POST /domestic-payments: the payment is created RJCT at once with StatusReasonCode
  MS03 (ISO 20022 ExternalStatusReason1Code NotSpecifiedReasonAgentGenerated: the bank refused and says no more),
  as a limit refusal is: the consent is consumed, no limit is used, nothing moves, one RJCT event.
- `insufficient-funds` on POST /domestic-payments: the payment is received and counted like any other, then at
  posting the ledger's answer is replaced by its own shortfall refusal (AM04, limits given back, RCVD and RJCT
  events), without asking the ledger. On funds confirmation: FundsAvailable false.
- `slow-clearing` on POST /domestic-payments to an account of this bank: the debit goes to the bank's clearing
  account (ACSP); at the next sandbox clock move a second posting credits the creditor (ACSC). Should the creditor
  refuse the credit then (e.g. the Class Ⅲ balance cap), the money goes back to the debtor and the payment is RJCT.
The fault is kept on the payment, so a payment finished after a crash or on a later read behaves the same.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Header

from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import ServiceUnavailable
from openbank_kit.faults import FAULT_HEADER, checked_faults
from openbank_kit.http_client import ServiceClient
from openbank_kit.money import Money
from services.payments import billpay, ledger, repository
from services.payments.domain.states import PAYMENT_TRANSITIONS, transition
from services.payments.events.outbox import payment_status_changed
from services.payments.outflow import give_back_outflow

logger = structlog.get_logger("openbank.payments.faults")

FaultDep = Annotated[str | None, Header(alias=FAULT_HEADER)]

PAYMENT_REJECTED = "payment-rejected"
INSUFFICIENT_FUNDS = "insufficient-funds"
SLOW_CLEARING = "slow-clearing"
REASON_REJECTED = "MS03"
CLEARING_ACCOUNT_ID = "INT-CLEARING-CNAPS"
# Begins like the ledger's own refusal, so the payment is recorded exactly as a real shortfall.
SIMULATED_SHORTFALL = "insufficient funds (sandbox fault insufficient-funds: the ledger was not asked)"


def requested(value: str | None) -> frozenset[str]:
    """The faults the header names (one, or a comma-separated list from the app's toggles); an unknown name is
    refused before anything changes."""
    return checked_faults(value)


def rejected_on_request(faults: frozenset[str]) -> tuple[str, str] | None:
    """(StatusReasonCode, description) when the payment must be refused as it is received."""
    if PAYMENT_REJECTED in faults:
        return REASON_REJECTED, "the bank rejected the payment (sandbox fault payment-rejected)"
    return None


def stored_fault(faults: frozenset[str], same_bank: bool) -> str | None:
    """What the payment keeps: the fault that acts when it is posted (first) or cleared."""
    if INSUFFICIENT_FUNDS in faults:
        return INSUFFICIENT_FUNDS
    if SLOW_CLEARING in faults and same_bank:
        return SLOW_CLEARING
    return None


def shortfall_forced(faults: frozenset[str]) -> bool:
    """Funds confirmation answers FundsAvailable false, as for a real shortfall."""
    return INSUFFICIENT_FUNDS in faults


def simulated_outcome(payment_fault: str | None) -> ledger.Refused | None:
    """The ledger's answer replaced for an insufficient-funds payment; None: ask the ledger."""
    if payment_fault == INSUFFICIENT_FUNDS:
        return ledger.Refused(SIMULATED_SHORTFALL)
    return None


def _leg(from_account_id: str, to_account_id: str, amount_fen: int, description: str) -> dict:
    amount = Money.from_fen(amount_fen).to_obie()
    return {
        "Category": "TRANSFER",
        "Description": description[:140],
        "Postings": [
            {"AccountId": from_account_id, "CreditDebitIndicator": "Debit", "Amount": amount},
            {"AccountId": to_account_id, "CreditDebitIndicator": "Credit", "Amount": amount},
        ],
    }


def finish_slow_clearing(db: Database, accounts: ServiceClient, tenant_id: str, payment_id: str) -> bool:
    """At a clock move: credit the creditor of a slow-clearing payment from the clearing account, then ACSC.
    False when the payment is not a slow-clearing one in clearing (the caller clears it the usual way)."""
    with db.read_session() as session:
        payment = repository.payment(session, tenant_id, payment_id)
        if payment is None or payment.status != "ACSP" or payment.fault != SLOW_CLEARING:
            return False
        consent = repository.consent(session, tenant_id, payment.consent_id)
        assert consent is not None and consent.creditor_account_id is not None
    # Keys derived from the payment id: a retried clock move posts each leg once.
    try:
        outcome = ledger.post(
            accounts, tenant_id, f"clr-{payment_id}",
            _leg(CLEARING_ACCOUNT_ID, consent.creditor_account_id, payment.amount_fen,
                 f"清算入账 payment {payment_id}"),
        )  # fmt: skip
        returned = None
        if isinstance(outcome, ledger.Refused):
            returned = ledger.post(
                accounts, tenant_id, f"ret-{payment_id}",
                _leg(CLEARING_ACCOUNT_ID, payment.debtor_account_id, payment.amount_fen,
                     f"退汇 payment {payment_id}"),
            )  # fmt: skip
            assert isinstance(returned, ledger.Posted), "the clearing account returns what it holds"
    except ServiceUnavailable:
        # A ledger outage must not fail the clock move: it stays ACSP and the next move retries the same keys.
        logger.warning("slow_clearing_left_in_clearing", tenant_id=tenant_id, payment_id=payment_id)
        return True
    with db.write_session() as session:
        payment = repository.payment(session, tenant_id, payment_id, for_update=True)
        assert payment is not None
        if payment.status != "ACSP":
            return True  # a concurrent clock move finished it first, with the same postings
        now = tenant_now(session, tenant_id)
        target = "ACSC" if returned is None else "RJCT"
        if returned is not None:
            assert isinstance(outcome, ledger.Refused)
            payment.status_reason_code = "AG01"
            payment.status_reason = f"the creditor account refused the credit: {outcome.message}"[:500]
            # The money came back: the transfer no longer counts against the payer's limits.
            give_back_outflow(session, tenant_id, payment.debtor_account_id, consent.debtor_account_class or "",
                              payment.customer_id, payment.amount_fen, payment.outflow_day)  # fmt: skip
        payment.status = transition(PAYMENT_TRANSITIONS, "payment", payment.status, target)
        payment.status_updated_at = now
        session.add(payment)
        billpay.payment_settled(session, tenant_id, consent.initiation, target)
        payment_status_changed(session, payment, now)
        session.commit()
    return True
