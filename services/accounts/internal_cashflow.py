"""Read-only internal route for the credit decision (loans): a customer's profile, accounts and ledger features.

`GET /internal/v1/tenants/{t}/customers/{customer_id}/cashflow?months=12` → the customer (party type, id number,
birth date), their accounts with balances, the organisations they own (with their accounts; when
`organisations=true`), and per complete
month: inflows, outflows (transfers between the customer's own accounts net out), salary credits and the
month-end balance. Amounts are OBIE Amount objects.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from openbank_kit.clock import BANK_TIMEZONE, tenant_now
from openbank_kit.errors import NotFound
from openbank_kit.internal_auth import InternalCaller
from openbank_kit.money import Money
from services.accounts.models import Account, Customer, LedgerTransaction, Posting

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: cashflow"])
MAX_MONTHS = 24


def _amount(fen: int) -> dict[str, str]:
    return Money.from_fen(fen).to_obie()


def _month_start(year: int, month: int) -> datetime:
    return datetime.combine(datetime(year, month, 1).date(), time(0), tzinfo=BANK_TIMEZONE)


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _accounts_view(session, tenant_id: str, customer_ids: list[str]) -> list:
    """Deposit accounts with their balances, one Core statement (the decision's hot path; loan accounts are left
    out so that the decision's features stay as they were)."""
    account, posting = Account.__table__, Posting.__table__
    balance = (
        select(func.coalesce(func.sum(posting.c.amount_fen), 0))
        .where(posting.c.tenant_id == tenant_id, posting.c.account_id == account.c.account_id)
        .scalar_subquery()
    )
    query = (
        select(
            account.c.account_id,
            account.c.customer_id,
            account.c.account_class,
            account.c.status,
            account.c.account_number,
            balance.label("balance_fen"),
        )  # fmt: skip
        .where(
            account.c.tenant_id == tenant_id,
            account.c.customer_id.in_(customer_ids),
            account.c.account_class != "LOAN",
        )
        .order_by(account.c.account_id)
    )
    return list(session.execute(query))


def _account_body(account) -> dict:
    return {
        "AccountId": account.account_id,
        "CustomerId": account.customer_id,
        "AccountClass": account.account_class,
        "Status": account.status,
        "Identification": account.account_number,
        "Balance": _amount(int(account.balance_fen)),
    }


@router.get("/customers/{customer_id}/cashflow")
def get_customer_cashflow(
    tenant_id: str,
    customer_id: str,
    request: Request,
    _caller: InternalCaller,
    months: int = Query(default=12, ge=1, le=MAX_MONTHS),
    organisations: bool = Query(default=False, description="include the organisations the customer owns"),
) -> JSONResponse:
    with request.app.state.db.read_session() as session:
        people = Customer.__table__.c
        customer = session.execute(
            select(Customer.__table__).where(people.tenant_id == tenant_id, people.customer_id == customer_id)
        ).one_or_none()  # Core rows throughout: this runs once per credit decision
        if customer is None:
            raise NotFound(message=f"unknown customer {customer_id}")
        now = tenant_now(session, tenant_id)
        accounts = _accounts_view(session, tenant_id, [customer_id])
        account_ids = [a.account_id for a in accounts]
        end_year, end_month = now.year, now.month
        start_year, start_month = _shift(end_year, end_month, -months)
        window_start, window_end = _month_start(start_year, start_month), _month_start(end_year, end_month)
        # One net amount per transaction, summed in the database: a transfer between two of the customer's own
        # accounts nets to zero, and only one row per transaction crosses the wire.
        posting, transaction = Posting.__table__, LedgerTransaction.__table__
        rows = session.execute(
            select(
                posting.c.transaction_id,
                func.sum(posting.c.amount_fen),
                func.min(transaction.c.booked_at),
                func.min(transaction.c.category),
            )
            .join(
                transaction,
                (transaction.c.tenant_id == posting.c.tenant_id)
                & (transaction.c.transaction_id == posting.c.transaction_id),
            )
            .where(
                posting.c.tenant_id == tenant_id,
                posting.c.account_id.in_(account_ids),
                transaction.c.booked_at >= window_start,
            )
            .group_by(posting.c.transaction_id)
        ).all()
        if not organisations:
            owned = []
        else:
            owned = list(
                session.execute(
                    select(Customer.__table__)
                    .where(people.tenant_id == tenant_id, people.owner_customer_id == customer_id)
                    .order_by(people.customer_id)
                )
            )
        owned_accounts = _accounts_view(session, tenant_id, [c.customer_id for c in owned]) if owned else []
    ordered = sorted(
        ([int(net), booked_at, category] for _, net, booked_at, category in rows), key=lambda e: e[1]
    )
    total_now_fen = sum(int(a.balance_fen) for a in accounts)
    balance_fen = total_now_fen - sum(entry[0] for entry in ordered)
    per_month: dict[tuple[int, int], dict[str, int]] = defaultdict(
        lambda: {"in": 0, "out": 0, "salary": 0, "salary_count": 0, "end": 0}
    )
    keys = [_shift(start_year, start_month, k) for k in range(months)]
    cursor = 0
    for key in keys:
        next_start = _month_start(*_shift(*key, 1))
        figures = per_month[key]
        while cursor < len(ordered) and ordered[cursor][1] < next_start:
            net_fen, _booked, category = ordered[cursor]
            cursor += 1
            balance_fen += net_fen
            if net_fen > 0:
                figures["in"] += net_fen
                if category == "SALARY":
                    figures["salary"] += net_fen
                    figures["salary_count"] += 1
            elif net_fen < 0:
                figures["out"] += -net_fen
        figures["end"] = balance_fen
    assert window_end == _month_start(*_shift(*keys[-1], 1))
    month_bodies = [
        {
            "Month": f"{year:04d}-{month:02d}",
            "Inflows": _amount(per_month[(year, month)]["in"]),
            "Outflows": _amount(per_month[(year, month)]["out"]),
            "SalaryCredits": _amount(per_month[(year, month)]["salary"]),
            "SalaryCreditCount": per_month[(year, month)]["salary_count"],
            "MonthEndBalance": _amount(per_month[(year, month)]["end"]),
        }
        for year, month in keys
    ]
    average_fen = sum(per_month[key]["end"] for key in keys) // len(keys)
    owned_bodies = [
        {
            "CustomerId": c.customer_id,
            "FullName": c.full_name,
            "IdNumber": c.id_number,
            "OnboardedOn": c.onboarded_on.isoformat(),
            "Accounts": [_account_body(a) for a in owned_accounts if a.customer_id == c.customer_id],
        }
        for c in owned
    ]
    # A JSONResponse as is: the body is plain JSON already, FastAPI's encoder pass would only cost time.
    return JSONResponse(
        {
            "Data": {
                "CustomerId": customer.customer_id,
                "PartyType": customer.party_type,
                "FullName": customer.full_name,
                "IdType": customer.id_type,
                "IdNumber": customer.id_number,
                "BirthDate": customer.birth_date.isoformat() if customer.birth_date else None,
                "AsOf": now.isoformat(),
                "Accounts": [_account_body(a) for a in accounts],
                "OwnedOrganisations": owned_bodies,
                "Months": month_bodies,
                "AverageMonthEndBalance": _amount(average_fen),
            }
        }
    )


@router.get("/accounts/by-identification/{account_number}")
def get_account_by_identification(
    tenant_id: str, account_number: str, request: Request, _caller: InternalCaller
) -> dict:
    """An account of this bank by its 19-digit number (loans checks an entrusted-payment payee with it)."""
    with request.app.state.db.read_session() as session:
        account = session.scalars(
            select(Account)
            .where(Account.tenant_id == tenant_id, Account.account_number == account_number)
            .limit(1)
        ).first()
        if account is None or account.account_class == "INTERNAL":
            raise NotFound(message="no account of this bank has that number")
        owner = session.get(Customer, (tenant_id, account.customer_id)) if account.customer_id else None
        return {
            "Data": {
                "AccountId": account.account_id,
                "CustomerId": account.customer_id,
                "AccountClass": account.account_class,
                "Status": account.status,
                "Name": owner.full_name if owner else account.nickname,
            }
        }


@router.get("/accounts/{account_id}/identification")
def get_account_identification(
    tenant_id: str, account_id: str, request: Request, _caller: InternalCaller
) -> dict:
    """An account's 19-digit number by id, internal accounts included (payments shows billers' settlement accounts)."""
    with request.app.state.db.read_session() as session:
        account = session.get(Account, (tenant_id, account_id))
        if account is None:
            raise NotFound(message="no such account")
        return {
            "Data": {
                "AccountId": account.account_id,
                "Identification": account.account_number,
                "Status": account.status,
                "Name": account.nickname,
            }
        }
