"""Account Information reads for a customer's token: consent checks (BOLA), field-level permissions, OBIE shapes.

Every read starts from the token's consent: it must be this client's, this customer's, AUTH and unexpired by the
tenant clock, and it names the accounts it covers. An account id outside them is 403 whether it exists or not.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from sqlmodel import Session

from openbank_kit.caller import Caller
from openbank_kit.clock import BANK_TIMEZONE, tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import BadRequest, ErrorCode, FieldInvalid, Forbidden
from openbank_kit.money import Money
from services.accounts import repository
from services.accounts.consent_service import wire_datetime
from services.accounts.domain import consent as rules
from services.accounts.models import Account, AccountAccessConsent, Customer
from services.accounts.repository import TransactionQuery, TransactionRow

PAGE_SIZE = 100  # transactions per page (fixed; Links.Next carries the cursor)
MAX_STATEMENTS = 36  # monthly statements listed per account, newest first
SCHEME_ACCOUNT_NUMBER = "CN.CNAPS.AccountNumber"  # DESIGN.md §3: 19-digit account numbers
PROPRIETARY_CODE_ISSUER = "OpenBankSandbox"
NOT_COVERED = ErrorCode.RESOURCE_CONSENT_MISMATCH

# The account class (Ⅰ/Ⅱ/Ⅲ类户) travels in OBAccount6.Description (Max35), which keeps the schema intact.
CLASS_DESCRIPTION = {
    "I": "Class I personal account (Ⅰ类户)",
    "II": "Class II personal account (Ⅱ类户)",
    "III": "Class III personal account (Ⅲ类户)",
    "CORPORATE": "Corporate settlement account (单位)",
    "LOAN": "Loan account (贷款账户)",
}
SUBTYPE_CODE = {"CurrentAccount": "CACC", "Savings": "SVGS", "Loan": "LOAN"}  # loans join as LOAN (seam)
PRODUCTS = {  # the bank's product catalogue per account class
    "I": ("PRD-DEBIT-I", "借记卡 Ⅰ类户 Class I debit card account", "PersonalCurrentAccount"),
    "II": ("PRD-EACCT-II", "电子账户 Ⅱ类户 Class II electronic account", "PersonalCurrentAccount"),
    "III": ("PRD-EACCT-III", "电子账户 Ⅲ类户 Class III electronic account", "PersonalCurrentAccount"),
    "CORPORATE": ("PRD-CORP-BASIC", "单位基本存款账户 Corporate basic account", "BusinessCurrentAccount"),
    "LOAN": ("PRD-LOAN", "贷款账户 Loan account (快贷 / 税金贷)", "Other"),
}
LOAN_CLASS = "LOAN"


@dataclass(frozen=True)
class Access:
    """What one customer token may see: its consent, its permissions, the accounts it covers."""

    tenant_id: str
    consent: AccountAccessConsent
    granted: frozenset[str]
    accounts: dict[str, Account]  # covered and still the customer's, in consent order
    now: datetime

    def require(self, *any_of: str) -> None:
        if not self.granted & set(any_of):
            raise Forbidden(
                message=f"the consent does not grant {' or '.join(any_of)}", error_code=NOT_COVERED
            )

    def account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise Forbidden(message="the consent does not cover this account", error_code=NOT_COVERED)
        return account

    @property
    def pan_in_clear(self) -> bool:
        return "ReadPAN" in self.granted


def load_access(session: Session, caller: Caller) -> Access:
    if not caller.is_customer:
        raise Forbidden(message="account information needs the customer's token (authorization code grant)")
    consent = repository.consent(session, caller.tenant_id, caller.intent_id or "")
    if consent is None or consent.client_id != caller.client_id or consent.customer_id != caller.subject:
        raise Forbidden(message="the token's consent is not valid for this client and customer")
    now = tenant_now(session, caller.tenant_id)
    status = rules.effective_status(consent.status, consent.expiration_at, now)
    if status != rules.AUTHORISED:
        raise Forbidden(message=f"the consent is {status}, not AUTH")
    owned = {
        a.account_id: a for a in repository.accounts_of_customer(session, caller.tenant_id, caller.subject)
    }
    accounts = {account_id: owned[account_id] for account_id in consent.account_ids if account_id in owned}
    return Access(caller.tenant_id, consent, frozenset(consent.permissions), accounts, now)


@dataclass(frozen=True)
class Page:
    """Where links point: the public origin and path of this request."""

    origin: str
    path: str

    def url(self, params: dict[str, str] | None = None) -> str:
        query = urlencode(params or {})
        return f"{self.origin}{self.path}" + (f"?{query}" if query else "")


def _envelope(
    key: str, items: list, page: Page, *, meta: dict | None = None, links: dict | None = None
) -> dict:
    return {
        "Data": {key: items},
        "Links": links or {"Self": page.url()},
        "Meta": meta or {"TotalPages": 1},
    }


# --- accounts ---------------------------------------------------------------------------------------------


def accounts(db: Database, caller: Caller, page: Page, account_id: str | None = None) -> dict:
    with db.read_session() as session:
        access = load_access(session, caller)
        chosen = [access.account(account_id)] if account_id else list(access.accounts.values())
        access.require("ReadAccountsBasic", "ReadAccountsDetail")
        detail = "ReadAccountsDetail" in access.granted
        holders = _holders(session, access, chosen)
        items = [_account_body(account, holders[account.customer_id], detail, access) for account in chosen]
        return _envelope("Account", items, page)


def _holders(session: Session, access: Access, chosen: Iterable[Account]) -> dict[str | None, Customer]:
    return repository.customers_by_id(
        session, access.tenant_id, [a.customer_id for a in chosen if a.customer_id]
    )


def _opening(day: date) -> str:
    return datetime.combine(day, time(0), BANK_TIMEZONE).isoformat()


def mask_pan(number: str) -> str:
    """First six and last four digits, as card numbers are shown without ReadPAN."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)


def _account_number(account: Account, access: Access) -> str:
    # A personal account number is the customer's card number (卡号): shown in clear only with ReadPAN. A loan
    # account has no card.
    if account.account_type == "Personal" and account.account_class != LOAN_CLASS and not access.pan_in_clear:
        return mask_pan(account.account_number)
    return account.account_number


def _account_body(account: Account, holder: Customer, detail: bool, access: Access) -> dict:
    body: dict = {
        "AccountId": account.account_id,
        "Status": account.status,
        "StatusUpdateDateTime": _opening(account.opened_on),
        "Currency": account.currency,
        "AccountCategory": "Business" if account.account_type == "Business" else "Personal",
        "AccountTypeCode": SUBTYPE_CODE.get(account.account_subtype, "OTHR"),
        "Description": CLASS_DESCRIPTION.get(account.account_class, account.account_class)[:35],
        "Nickname": account.nickname,
        "OpeningDate": _opening(account.opened_on),
    }
    if detail:
        body["Account"] = [
            {
                "SchemeName": SCHEME_ACCOUNT_NUMBER,
                "Identification": _account_number(account, access),
                "Name": holder.full_name,
            }
        ]
    return body


# --- balances ---------------------------------------------------------------------------------------------


def balances(db: Database, caller: Caller, page: Page, account_id: str | None = None) -> dict:
    with db.read_session() as session:
        access = load_access(session, caller)
        chosen = [access.account(account_id)] if account_id else list(access.accounts.values())
        access.require("ReadBalances")
        ids = [account.account_id for account in chosen]
        booked = repository.balances_fen(session, access.tenant_id, ids)
        held = repository.held_fen(session, access.tenant_id, ids)
        items = []
        for account in chosen:
            for balance_type, amount_fen in _balance_lines(account, booked, held):
                items.append(
                    {
                        "AccountId": account.account_id,
                        "CreditDebitIndicator": _balance_indicator(account, amount_fen),
                        "Type": balance_type,
                        "DateTime": access.now.isoformat(),
                        "Amount": Money.from_fen(abs(amount_fen), account.currency).to_obie(),
                    }
                )
        if not items:
            raise Forbidden(message="the consent covers no account", error_code=NOT_COVERED)
        return _envelope("Balance", items, page)


def _balance_lines(account: Account, booked: dict[str, int], held: dict[str, int]) -> list[tuple[str, int]]:
    if account.account_class == LOAN_CLASS:
        # A loan has no available balance to spend: one interim booked balance, the principal outstanding.
        return [("ITBD", booked[account.account_id])]
    return [
        ("ITBD", booked[account.account_id]),  # interim booked: every posting so far
        ("ITAV", booked[account.account_id] - held[account.account_id]),  # less pending holds
    ]


def _balance_indicator(account: Account, amount_fen: int) -> str:
    """What the customer owes is a Debit (a loan, also once repaid to zero); what they hold is a Credit."""
    if account.account_class == LOAN_CLASS:
        return "Debit" if amount_fen <= 0 else "Credit"
    return "Credit" if amount_fen >= 0 else "Debit"


# --- transactions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionFilter:
    """The raw query parameters; parsed and checked here so errors name the parameter."""

    from_booking: str | None = None
    to_booking: str | None = None
    cursor: str | None = None


def parse_booking_datetime(value: str | None, name: str) -> datetime | None:
    """ISO 8601; OBIE sends these without an offset, which means the bank's time zone (+08:00)."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldInvalid(
            name, f"{name} must be an ISO 8601 date-time", error_code=ErrorCode.FIELD_INVALID_DATE
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BANK_TIMEZONE)


def transactions(
    db: Database,
    caller: Caller,
    page: Page,
    filters: TransactionFilter,
    account_id: str | None = None,
    statement_id: str | None = None,
) -> dict:
    with db.read_session() as session:
        access = load_access(session, caller)
        chosen = [access.account(account_id)] if account_id else list(access.accounts.values())
        if statement_id is not None:
            access.require("ReadStatementsBasic", "ReadStatementsDetail")
        access.require("ReadTransactionsBasic", "ReadTransactionsDetail")
        detail = "ReadTransactionsDetail" in access.granted
        query_from = parse_booking_datetime(filters.from_booking, "fromBookingDateTime")
        query_to = parse_booking_datetime(filters.to_booking, "toBookingDateTime")
        if query_from and query_to and query_from > query_to:
            raise FieldInvalid(
                "fromBookingDateTime",
                "fromBookingDateTime is after toBookingDateTime",
                error_code=ErrorCode.FIELD_INVALID_DATE,
            )
        window_from, window_to = _clamp(access, query_from, query_to)
        if statement_id is not None:
            start, end = _statement_period(session, access, chosen[0], statement_id)
            window_from = max(window_from, start) if window_from else start
            window_to = min(window_to, end)
        query = TransactionQuery(
            tenant_id=access.tenant_id,
            account_ids=tuple(account.account_id for account in chosen),
            from_at=window_from,
            to_at=window_to,
            credits="ReadTransactionsCredits" in access.granted,
            debits="ReadTransactionsDebits" in access.granted,
        )
        window_params = {"toBookingDateTime": wire_datetime(window_to)}
        if window_from is not None:
            window_params = {"fromBookingDateTime": wire_datetime(window_from), **window_params}
        empty = window_from is not None and window_from > window_to
        total, first_at, last_at = (
            (0, None, None) if empty else repository.count_transactions_in(session, query)
        )
        total_pages = max(1, math.ceil(total / PAGE_SIZE))
        number, after, before = _decode_cursor(filters.cursor, total_pages)
        rows = (
            []
            if empty
            else repository.transactions_page(session, query, after=after, before=before, limit=PAGE_SIZE)
        )
        accounts_by_id = {account.account_id: account for account in chosen}
        items = [_transaction_body(row, accounts_by_id[row.account_id], detail, access) for row in rows]
        links = {
            "Self": page.url({**window_params, **({"cursor": filters.cursor} if filters.cursor else {})})
        }
        links["First"] = page.url(window_params)
        if rows and number < total_pages:
            links["Next"] = page.url(
                {**window_params, "cursor": _encode_cursor(number + 1, "after", rows[-1])}
            )
        if rows and number > 1:
            links["Prev"] = page.url(
                {**window_params, "cursor": _encode_cursor(number - 1, "before", rows[0])}
            )
        meta: dict = {"TotalPages": total_pages}
        if first_at is not None and last_at is not None:
            meta["FirstAvailableDateTime"] = wire_datetime(first_at)
            meta["LastAvailableDateTime"] = wire_datetime(last_at)
        return {"Data": {"Transaction": items}, "Links": links, "Meta": meta}


def _clamp(
    access: Access, query_from: datetime | None, query_to: datetime | None
) -> tuple[datetime | None, datetime]:
    """The asked window inside the consent's TransactionFrom/ToDateTime, never past now.

    `to` is pinned to a whole second of now when open: the links then name a closed window, and since postings are
    immutable and booked at the time they are made, that window's content never changes between pages.
    """
    consent = access.consent
    bounds_from = [value for value in (query_from, consent.transaction_from_at) if value is not None]
    window_from = max(bounds_from) if bounds_from else None
    bounds_to = [value for value in (query_to, consent.transaction_to_at) if value is not None]
    window_to = min([*bounds_to, access.now.replace(microsecond=0)])
    return window_from, window_to


def _encode_cursor(number: int, direction: str, row: TransactionRow) -> str:
    key = [row.transaction.booked_at.isoformat(), row.transaction.transaction_id, row.posting_id]
    raw = json.dumps({"p": number, "d": direction, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, total_pages: int):
    """(page number, after key, before key); the cursor only moves within the consent-bounded query."""
    if not cursor:
        return 1, None, None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        number, direction = int(data["p"]), data["d"]
        key = (datetime.fromisoformat(data["k"][0]), str(data["k"][1]), str(data["k"][2]))
        if direction not in ("after", "before") or key[0].tzinfo is None or len(cursor) > 400:
            raise ValueError
    except (ValueError, KeyError, TypeError, IndexError, json.JSONDecodeError):
        raise FieldInvalid("cursor", "cursor is not one this server gave out in Links") from None
    if not 1 <= number <= total_pages:
        raise FieldInvalid("cursor", f"page {number} is out of range: there are {total_pages} pages")
    return number, (key if direction == "after" else None), (key if direction == "before" else None)


def _cash_account(number: str | None, name: str | None, access: Access) -> dict | None:
    body: dict = {}
    if number:
        body["SchemeName"] = SCHEME_ACCOUNT_NUMBER
        body["Identification"] = number if access.pan_in_clear else mask_pan(number)
    if name:
        body["Name"] = name[:350]
    return body or None


def _transaction_body(row: TransactionRow, account: Account, detail: bool, access: Access) -> dict:
    transaction = row.transaction
    credit = row.amount_fen > 0
    body: dict = {
        "AccountId": row.account_id,
        "TransactionId": transaction.transaction_id,
        "CreditDebitIndicator": "Credit" if credit else "Debit",
        "Status": "BOOK",
        "TransactionMutability": "Immutable",  # postings never change; corrections are reversals
        "BookingDateTime": wire_datetime(transaction.booked_at),
        "ValueDateTime": _opening(transaction.value_date),
        "Amount": Money.from_fen(abs(row.amount_fen), account.currency).to_obie(),
        "ProprietaryBankTransactionCode": {"Code": transaction.category, "Issuer": PROPRIETARY_CODE_ISSUER},
    }
    if not detail:
        return body
    body["TransactionInformation"] = transaction.description[:500]
    if transaction.reference:
        body["TransactionReference"] = transaction.reference
    body["Balance"] = {
        "CreditDebitIndicator": _balance_indicator(account, row.balance_after_fen),
        "Type": "ITBD",
        "Amount": Money.from_fen(abs(row.balance_after_fen), account.currency).to_obie(),
    }
    if transaction.merchant_category_code and transaction.counterparty_name:
        body["MerchantDetails"] = {
            "MerchantName": transaction.counterparty_name[:350],
            "MerchantCategoryCode": transaction.merchant_category_code,
        }
    # counterparty_* name the outside party, or the payee of a transfer between customers (sandbox_data):
    # on the payee's own leg they would name the account itself, so they are left out there.
    if transaction.counterparty_account_number != account.account_number:
        other = _cash_account(transaction.counterparty_account_number, transaction.counterparty_name, access)
        if other:
            body["DebtorAccount" if credit else "CreditorAccount"] = other
    return body


# --- party, product -----------------------------------------------------------------------------------------


def _party_body(customer: Customer, role: str) -> dict:
    body: dict = {
        "PartyId": customer.customer_id,
        "PartyNumber": customer.customer_id,
        "PartyType": "Sole",
        "Name": customer.full_name,
        "AccountRole": role,
    }
    if customer.party_type == "ORGANISATION":
        body["FullLegalName"] = customer.full_name
    if customer.mobile:
        body["Mobile"] = f"+86-{customer.mobile}"
    return body


def party_of_psu(db: Database, caller: Caller, page: Page) -> dict:
    with db.read_session() as session:
        access = load_access(session, caller)
        access.require("ReadPartyPSU")
        psu = repository.customer(session, access.tenant_id, access.consent.customer_id or "")
        assert psu is not None  # the consent was decided by this customer
        return {"Data": {"Party": _party_body(psu, "UK.OBIE.Principal")}, "Links": {"Self": page.url()},
                "Meta": {"TotalPages": 1}}  # fmt: skip


def account_parties(db: Database, caller: Caller, page: Page, account_id: str, *, all_parties: bool) -> dict:
    """`/party`: the account's owner; `/parties`: every party with a role on it (an SME's owning person too)."""
    with db.read_session() as session:
        access = load_access(session, caller)
        account = access.account(account_id)
        access.require("ReadParty")
        owner = repository.customer(session, access.tenant_id, account.customer_id or "")
        assert owner is not None
        if not all_parties:
            return {"Data": {"Party": _party_body(owner, "UK.OBIE.Principal")}, "Links": {"Self": page.url()},
                    "Meta": {"TotalPages": 1}}  # fmt: skip
        parties = [_party_body(owner, "UK.OBIE.Principal")]
        if owner.owner_customer_id:
            person = repository.customer(session, access.tenant_id, owner.owner_customer_id)
            if person is not None:
                parties.append(_party_body(person, "UK.OBIE.SeniorManagingOfficial"))
        return _envelope("Party", parties, page)


def products(db: Database, caller: Caller, page: Page, account_id: str | None = None) -> dict:
    with db.read_session() as session:
        access = load_access(session, caller)
        chosen = [access.account(account_id)] if account_id else list(access.accounts.values())
        access.require("ReadProducts")
        items = []
        for account in chosen:
            product_id, name, product_type = PRODUCTS.get(
                account.account_class, ("PRD-OTHER", account.account_class, "Other")
            )
            if account.account_class == LOAN_CLASS and account.account_type == "Business":
                product_type = "SMELoan"  # 税金贷: the OBIE product type for a business loan
            item = {"AccountId": account.account_id, "ProductId": product_id, "ProductName": name,
                    "ProductType": product_type}  # fmt: skip
            if product_type == "Other":
                item["OtherProductType"] = {"Name": account.account_subtype, "Description": name}
            items.append(item)
        return _envelope("Product", items, page)


# --- resources the world holds none of: the OBIE empty list, never a made-up entry ------------------------

EMPTY_RESOURCES = {
    # resource: (Data key, permissions any of which opens it)
    "beneficiaries": ("Beneficiary", ("ReadBeneficiariesBasic", "ReadBeneficiariesDetail")),
    "direct-debits": ("DirectDebit", ("ReadDirectDebits",)),
    "standing-orders": ("StandingOrder", ("ReadStandingOrdersBasic", "ReadStandingOrdersDetail")),
    "scheduled-payments": ("ScheduledPayment", ("ReadScheduledPaymentsBasic", "ReadScheduledPaymentsDetail")),
}


def empty_resource(
    db: Database, caller: Caller, page: Page, resource: str, account_id: str | None = None
) -> dict:
    """No beneficiaries, mandates, standing orders or scheduled payments exist in the world yet (payments will
    own standing and scheduled orders): after the same consent checks, the answer is the OBIE empty list."""
    key, permissions = EMPTY_RESOURCES[resource]
    with db.read_session() as session:
        access = load_access(session, caller)
        if account_id is not None:
            access.account(account_id)
        access.require(*permissions)
        return _envelope(key, [], page)


# --- statements (monthly, derived from the ledger) --------------------------------------------------------


def _month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=BANK_TIMEZONE)


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def _statement_months(session: Session, access: Access, account: Account) -> list[datetime]:
    """Starts of every complete calendar month (Asia/Shanghai) since the account's first posting, newest first."""
    first = repository.first_posting_at(session, access.tenant_id, account.account_id)
    if first is None:
        return []
    start = _month_start(first.astimezone(BANK_TIMEZONE).date())
    months = []
    while _next_month(start) <= access.now and len(months) < 1000:
        months.append(start)
        start = _next_month(start)
    return list(reversed(months))[:MAX_STATEMENTS]


def _statement_id(start: datetime) -> str:
    return f"STM-{start:%Y%m}"


def _statement_period(session: Session, access: Access, account: Account, statement_id: str):
    for start in _statement_months(session, access, account):
        if _statement_id(start) == statement_id:
            return start, _next_month(start) - timedelta(microseconds=1)
    # An unknown statement id is no more revealing than another account's: 403, as for any uncovered id.
    raise Forbidden(message="the consent does not cover this statement", error_code=NOT_COVERED)


def statements(
    db: Database, caller: Caller, page: Page, account_id: str | None = None, statement_id: str | None = None
) -> dict:
    with db.read_session() as session:
        access = load_access(session, caller)
        chosen = [access.account(account_id)] if account_id else list(access.accounts.values())
        access.require("ReadStatementsBasic", "ReadStatementsDetail")
        detail = "ReadStatementsDetail" in access.granted
        items = []
        for account in chosen:
            months = _statement_months(session, access, account)
            if statement_id is not None:
                months = [start for start in months if _statement_id(start) == statement_id]
                if not months:
                    raise Forbidden(
                        message="the consent does not cover this statement", error_code=NOT_COVERED
                    )
            for start in months:
                items.append(_statement_body(session, access, account, start, detail))
        return _envelope("Statement", items, page)


def _statement_body(
    session: Session, access: Access, account: Account, start: datetime, detail: bool
) -> dict:
    end = _next_month(start)
    body: dict = {
        "AccountId": account.account_id,
        "StatementId": _statement_id(start),
        "StatementReference": f"{account.account_id}-{start:%Y%m}",
        "Type": "RegularPeriodic",
        "StartDateTime": start.isoformat(),
        "EndDateTime": (end - timedelta(seconds=1)).isoformat(),
        "CreationDateTime": end.isoformat(),
    }
    if detail:
        amounts = []
        for amount_type, at in (("UK.OBIE.OpeningBalance", start), ("UK.OBIE.ClosingBalance", end)):
            balance_fen = repository.balance_fen_at(session, access.tenant_id, account.account_id, at)
            amounts.append(
                {
                    "CreditDebitIndicator": _balance_indicator(account, balance_fen),
                    "Type": amount_type,
                    "Amount": Money.from_fen(abs(balance_fen), account.currency).to_obie(),
                }
            )
        body["StatementAmount"] = amounts
    return body


def require_known_filters(params: Iterable[str], allowed: set[str]) -> None:
    """An unknown query parameter is refused rather than silently ignored (a typo would widen the result)."""
    for name in params:
        if name not in allowed:
            raise BadRequest(
                message=f"unknown query parameter {name}", path=name, error_code=ErrorCode.FIELD_UNEXPECTED
            )
