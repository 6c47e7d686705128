"""Loan receivable accounts (贷款分户账): one per loan, opened in the borrower's name when lending disburses.

The account id is the LoanId itself, so opening is idempotent by construction (the primary key refuses a second
row) and the AISP `LOAN` account and `/lending/v1/loans/{LoanId}` name the same thing. The account is of class
`LOAN`: the ledger lets only lending post to it, it carries a debit balance (negative here, see docs/lending.md)
and cannot be repaid beyond zero, holds cannot be placed on it, and payments never list it as a debtor account.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from stdnum import luhn

from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, FieldInvalid
from services.accounts import repository
from services.accounts.domain.ledger import LOAN_CLASS
from services.accounts.models import Account
from services.accounts.schemas import LoanAccountBody

BANK_BIN = "621999"  # the bank's BIN (sandbox_data/identifiers.py): every account number of this bank uses it
LOAN_SERIAL_BASE = 800_000_000_000  # loan accounts' serial band, below the internal accounts' 9xx band
LOAN_SERIAL_SPAN = 100_000_000_000
LOAN_SUBTYPE = "Loan"
OPEN_STATUS = "Enabled"
BORROWER_CLASSES = ("I", "II", "III", "CORPORATE")


def loan_account_number(tenant_id: str, loan_id: str) -> str:
    """19 digits, Luhn-valid, derived from the loan id (no counter to race on): BIN + 12-digit serial + check."""
    digest = int(hashlib.sha256(f"{tenant_id}:{loan_id}".encode()).hexdigest(), 16)
    body = f"{BANK_BIN}{LOAN_SERIAL_BASE + digest % LOAN_SERIAL_SPAN:012d}"
    return body + luhn.calc_check_digit(body)


def open_loan_account(db: Database, tenant_id: str, body: LoanAccountBody) -> tuple[int, dict]:
    """(201, the new account) the first time for a LoanId, (200, the same account) every later time."""
    with db.read_session() as session:
        existing = repository.accounts_by_id(session, tenant_id, [body.LoanId], for_update=False)
    if body.LoanId in existing:
        return 200, _same_loan(existing[body.LoanId], body)
    with db.write_session() as session:
        borrower_accounts = repository.accounts_by_id(
            session, tenant_id, [body.BorrowerAccountId], for_update=False
        )
        borrower = borrower_accounts.get(body.BorrowerAccountId)
        if borrower is None or borrower.customer_id is None or borrower.account_class not in BORROWER_CLASSES:
            raise FieldInvalid("BorrowerAccountId", "the borrower's account must be a customer account")
        account = Account(
            tenant_id=tenant_id,
            account_id=body.LoanId,
            customer_id=borrower.customer_id,
            account_number=loan_account_number(tenant_id, body.LoanId),
            account_class=LOAN_CLASS,
            account_type=borrower.account_type,
            account_subtype=LOAN_SUBTYPE,
            currency=body.Currency,
            nickname=body.Nickname,
            opened_on=tenant_now(session, tenant_id).date(),
            bound_account_id=borrower.account_id,  # the account the loan is repaid from
            status=OPEN_STATUS,
        )
        session.add(account)
        try:
            session.commit()
        except IntegrityError:  # a concurrent open of the same loan won: answer with its account
            session.rollback()
            with db.read_session() as again:
                won = repository.accounts_by_id(again, tenant_id, [body.LoanId], for_update=False)
            return 200, _same_loan(won[body.LoanId], body)
        return 201, loan_account_body(account)


def _same_loan(account: Account, body: LoanAccountBody) -> dict:
    if account.account_class != LOAN_CLASS or account.bound_account_id != body.BorrowerAccountId:
        raise Conflict(message=f"account {body.LoanId} exists for another borrower or purpose")
    return loan_account_body(account)


def loan_account_body(account: Account) -> dict:
    return {
        "Data": {
            "AccountId": account.account_id,
            "CustomerId": account.customer_id,
            "Identification": account.account_number,
            "AccountClass": account.account_class,
            "AccountSubType": account.account_subtype,
            "BorrowerAccountId": account.bound_account_id,
            "Currency": account.currency,
            "Status": account.status,
        }
    }
