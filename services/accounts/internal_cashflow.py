"""Internal route for the credit decision (loans): a customer's profile, accounts and ledger features.

`GET /internal/v1/tenants/{t}/customers/{customer_id}/cashflow?months=12` → the customer (party type, id number,
birth date), their deposit accounts, the organisations they own (with their accounts; when `organisations=true`),
and per closed month of the window (the `months` calendar months before the current one, Asia/Shanghai): inflows,
outflows (transfers between the customer's own accounts net out), salary credits and the month-end balance.
Amounts are OBIE Amount objects.

A closed month never changes (`CustomerMonthFigures`), so its figures are computed from the postings once, the first
time they are asked for, and read back from then on: a decision reads a dozen small rows instead of a year of
postings.
"""

from __future__ import annotations

from datetime import datetime, time

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, bindparam, func, select

from openbank_kit import sql
from openbank_kit.clock import BANK_TIMEZONE, TenantClock, clock_now
from openbank_kit.db import insert_with_conflict_clause
from openbank_kit.deps import parsed_query
from openbank_kit.errors import NotFound
from openbank_kit.internal_auth import InternalCaller, require_internal_caller
from openbank_kit.money import fen_to_obie
from services.accounts.models import Account, Customer, CustomerMonthFigures, LedgerTransaction, Posting

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: cashflow"])
MAX_MONTHS = 24


def _amount(fen: int) -> dict[str, str]:
    return fen_to_obie(fen)


def _month_start(year: int, month: int) -> datetime:
    return datetime.combine(datetime(year, month, 1).date(), time(0), tzinfo=BANK_TIMEZONE)


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


# Statements built once with bound parameters: they run once per credit decision.
_PEOPLE, _ACCOUNTS, _FIGURES = Customer.__table__, Account.__table__, CustomerMonthFigures.__table__
_OWNED = (
    select(_PEOPLE)
    .where(
        _PEOPLE.c.tenant_id == bindparam("tenant_id"), _PEOPLE.c.owner_customer_id == bindparam("customer_id")
    )
    .order_by(_PEOPLE.c.customer_id)
)


def _account_body(account) -> dict:
    return {
        "AccountId": account.account_id,
        "CustomerId": account.customer_id,
        "AccountClass": account.account_class,
        "Status": account.status,
        "Identification": account.account_number,
    }


def closed_month_figures(
    session, tenant_id: str, account_ids: list[str], now: datetime, months: int
) -> list[dict]:
    """The figures of the `months` closed months before `now`'s month, from the postings of `account_ids`.

    Month-end balances are walked back from today's balance: everything booked since the window opened is
    subtracted, then the window's transactions are added back month by month.
    """
    end_year, end_month = now.year, now.month
    start_year, start_month = _shift(end_year, end_month, -months)
    window_start = _month_start(start_year, start_month)
    posting, transaction = Posting.__table__, LedgerTransaction.__table__
    total_now_fen = 0
    if account_ids:
        total_now_fen = session.execute(
            select(func.coalesce(func.sum(posting.c.amount_fen), 0)).where(
                posting.c.tenant_id == tenant_id, posting.c.account_id.in_(account_ids)
            )
        ).scalar_one()
    # One net amount per transaction, summed in the database: a transfer between two of the customer's own
    # accounts nets to zero, and only one row per transaction crosses the wire.
    rows = []
    if account_ids:
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
    ordered = sorted(
        ([int(net), booked_at, category] for _, net, booked_at, category in rows), key=lambda e: e[1]
    )
    balance_fen = int(total_now_fen) - sum(entry[0] for entry in ordered)
    figures, cursor = [], 0
    for k in range(months):
        year, month = _shift(start_year, start_month, k)
        next_start = _month_start(*_shift(year, month, 1))
        inflows = outflows = salary = salary_count = 0
        while cursor < len(ordered) and ordered[cursor][1] < next_start:
            net_fen, _booked, category = ordered[cursor]
            cursor += 1
            balance_fen += net_fen
            if net_fen > 0:
                inflows += net_fen
                if category == "SALARY":
                    salary += net_fen
                    salary_count += 1
            elif net_fen < 0:
                outflows += -net_fen
        figures.append({"month": _month_key(year, month), "inflows_fen": inflows, "outflows_fen": outflows,
                        "salary_fen": salary, "salary_count": salary_count, "month_end_balance_fen": balance_fen})  # fmt: skip
    assert _month_start(end_year, end_month) == _month_start(*_shift(start_year, start_month, months))
    return figures


def _keep_closed_months(db, tenant_id: str, customer_id: str, figures: list[dict]) -> None:
    """Store what was computed; a concurrent request that stored the same months first wins (same figures)."""
    with db.write_session() as session:
        statement = insert_with_conflict_clause(session, _FIGURES).on_conflict_do_nothing()
        session.execute(
            statement, [{"tenant_id": tenant_id, "customer_id": customer_id, **f} for f in figures]
        )
        session.commit()


def _month_body(figures) -> dict:
    return {
        "Month": figures["month"],
        "Inflows": _amount(figures["inflows_fen"]),
        "Outflows": _amount(figures["outflows_fen"]),
        "SalaryCredits": _amount(figures["salary_fen"]),
        "SalaryCreditCount": figures["salary_count"],
        "MonthEndBalance": _amount(figures["month_end_balance_fen"]),
    }


_CLOCK = TenantClock.__table__
# The decision's read, one batch (openbank_kit.sql): the customer with the tenant's clock offset, their deposit
# accounts, the newest kept closed months (the window is the newest of them when all are kept: nothing is kept for a
# month that has not closed), and the organisations they own with those organisations' accounts.
_CUSTOMER_AND_CLOCK = sql.Statement(
    select(
        _PEOPLE,
        select(_CLOCK.c.offset_s)
        .where(_CLOCK.c.tenant_id == bindparam("tenant_id"))
        .scalar_subquery()
        .label("offset_s"),
    ).where(_PEOPLE.c.tenant_id == bindparam("tenant_id"), _PEOPLE.c.customer_id == bindparam("customer_id"))
)
_ACCOUNTS_OF_CUSTOMER = sql.Statement(
    select(
        _ACCOUNTS.c.account_id,
        _ACCOUNTS.c.customer_id,
        _ACCOUNTS.c.account_class,
        _ACCOUNTS.c.status,
        _ACCOUNTS.c.account_number,
    )
    .where(
        _ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
        _ACCOUNTS.c.customer_id == bindparam("customer_id"),
        _ACCOUNTS.c.account_class != "LOAN",
    )
    .order_by(_ACCOUNTS.c.account_id)
)
_NEWEST_CLOSED_MONTHS = sql.Statement(
    select(_FIGURES)
    .where(_FIGURES.c.tenant_id == bindparam("tenant_id"), _FIGURES.c.customer_id == bindparam("customer_id"))
    .order_by(_FIGURES.c.month.desc())
    .limit(MAX_MONTHS)
)
_OWNED_ORGANISATIONS = sql.Statement(_OWNED)
_ACCOUNTS_OF_OWNED = sql.Statement(
    select(
        _ACCOUNTS.c.account_id,
        _ACCOUNTS.c.customer_id,
        _ACCOUNTS.c.account_class,
        _ACCOUNTS.c.status,
        _ACCOUNTS.c.account_number,
    )
    .join(
        _PEOPLE,
        and_(_PEOPLE.c.tenant_id == _ACCOUNTS.c.tenant_id, _PEOPLE.c.customer_id == _ACCOUNTS.c.customer_id),
    )
    .where(
        _ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
        _PEOPLE.c.owner_customer_id == bindparam("customer_id"),
        _ACCOUNTS.c.account_class != "LOAN",
    )
    .order_by(_ACCOUNTS.c.account_id)
)


def _computed_and_kept(
    db, tenant_id: str, customer_id: str, account_ids: list[str], now, months: int
) -> list[dict]:
    """The first request for a window since its last month closed: figures from the postings, then kept."""
    with db.read_session() as session:
        figures = closed_month_figures(session, tenant_id, account_ids, now, months)
    _keep_closed_months(db, tenant_id, customer_id, figures)
    return figures


class CashflowQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    months: int = Field(default=12, ge=1, le=MAX_MONTHS)
    organisations: bool = Field(default=False, description="include the organisations the customer owns")


@router.get(
    "/customers/{customer_id}/cashflow",
    openapi_extra={"parameters": [{"name": name, "in": "query", "required": False, "schema": schema}
                                  for name, schema in CashflowQuery.model_json_schema()["properties"].items()]},
)  # fmt: skip
async def get_customer_cashflow(request: Request) -> JSONResponse:
    """Async, one batch of reads, and no FastAPI dependencies or parameters (read here): it runs once per credit
    decision (openbank_kit/async_db.py)."""
    await require_internal_caller(request)
    tenant_id, customer_id = request.path_params["tenant_id"], request.path_params["customer_id"]
    query = parsed_query(CashflowQuery, request)
    months, organisations = query.months, query.organisations
    names = {"tenant_id": tenant_id, "customer_id": customer_id}
    reads = [(_CUSTOMER_AND_CLOCK, names), (_ACCOUNTS_OF_CUSTOMER, names), (_NEWEST_CLOSED_MONTHS, names)]
    if organisations:
        reads += [(_OWNED_ORGANISATIONS, names), (_ACCOUNTS_OF_OWNED, names)]
    async with request.app.state.adb.unit(write=False) as unit:
        found, accounts_found, kept, *owned_found = await unit.run(*reads)
    customer = next(iter(found.named()), None)
    if customer is None:
        raise NotFound(message=f"unknown customer {customer_id}")
    now = clock_now(customer.offset_s or 0)
    accounts = accounts_found.named()
    open_month = _month_key(now.year, now.month)
    window = {_month_key(*_shift(now.year, now.month, -k)) for k in range(1, months + 1)}
    stored = sorted((row._asdict() for row in kept.named() if row.month in window), key=lambda f: f["month"])
    assert all(f["month"] < open_month for f in stored)
    if len(stored) < months:
        stored = await anyio.to_thread.run_sync(
            _computed_and_kept,
            request.app.state.db,
            tenant_id,
            customer_id,
            [a.account_id for a in accounts],
            now,
            months,
        )
    owned = owned_found[0].named() if organisations else []
    owned_accounts = owned_found[1].named() if organisations else []
    average_fen = sum(f["month_end_balance_fen"] for f in stored) // months
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
                "Months": [_month_body(f) for f in stored],
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
