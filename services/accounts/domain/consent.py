"""Account-access consents, pure: which permission sets are valid, what each endpoint needs, status rules.

Permission rules follow OBIE v4.0 (Account and Transaction API, "Permissions"): `ReadTransactionsBasic`/`Detail`
need `ReadTransactionsCredits` and/or `Debits`, and those two mean nothing without Basic or Detail; every other
code stands alone. An unknown code or an inconsistent set is refused (DESIGN.md §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from openbank_kit.errors import ErrorCode, FieldInvalid
from services.accounts.domain.errors import ConsentStateConflict

PERMISSIONS = frozenset(
    {
        "ReadAccountsBasic",
        "ReadAccountsDetail",
        "ReadBalances",
        "ReadBeneficiariesBasic",
        "ReadBeneficiariesDetail",
        "ReadDirectDebits",
        "ReadOffers",
        "ReadPAN",
        "ReadParty",
        "ReadPartyPSU",
        "ReadProducts",
        "ReadScheduledPaymentsBasic",
        "ReadScheduledPaymentsDetail",
        "ReadStandingOrdersBasic",
        "ReadStandingOrdersDetail",
        "ReadStatementsBasic",
        "ReadStatementsDetail",
        "ReadTransactionsBasic",
        "ReadTransactionsCredits",
        "ReadTransactionsDebits",
        "ReadTransactionsDetail",
    }
)
MAX_PERMISSIONS = len(PERMISSIONS)

AWAITING = "AWAU"
AUTHORISED = "AUTH"
REJECTED = "RJCT"
CANCELLED = "CANC"
EXPIRED = "EXPD"

# The only legal moves; anything else raises. EXPD is reached from AWAU/AUTH when the tenant clock passes
# ExpirationDateTime, CANC when the client deletes the consent (or the customer revokes it).
TRANSITIONS = {
    AWAITING: {AUTHORISED, REJECTED, CANCELLED, EXPIRED},
    AUTHORISED: {CANCELLED, EXPIRED},
    REJECTED: set(),
    CANCELLED: set(),
    EXPIRED: set(),
}


def check_permissions(permissions: Sequence[str], path: str = "Data.Permissions") -> list[str]:
    """The permission list, de-duplicated in the order sent; raises FieldInvalid naming the bad entry."""
    seen: list[str] = []
    for index, code in enumerate(permissions):
        if code not in PERMISSIONS:
            raise FieldInvalid(f"{path}[{index}]", f"{code!r} is not an OBIE v4.0 account-access permission")
        if code not in seen:
            seen.append(code)
    if not seen:
        raise FieldInvalid(path, "at least one permission is required")
    granted = set(seen)
    reads_transactions = bool(granted & {"ReadTransactionsBasic", "ReadTransactionsDetail"})
    direction = bool(granted & {"ReadTransactionsCredits", "ReadTransactionsDebits"})
    if reads_transactions and not direction:
        raise FieldInvalid(
            path,
            "ReadTransactionsBasic/ReadTransactionsDetail need ReadTransactionsCredits and/or ReadTransactionsDebits",
        )
    if direction and not reads_transactions:
        raise FieldInvalid(
            path,
            "ReadTransactionsCredits/ReadTransactionsDebits need ReadTransactionsBasic or ReadTransactionsDetail",
        )
    if "ReadPAN" in granted and len(granted) == 1:
        raise FieldInvalid(path, "ReadPAN only qualifies other permissions; it grants nothing alone")
    return seen


def check_window(
    now: datetime,
    expiration_at: datetime | None,
    transaction_from_at: datetime | None,
    transaction_to_at: datetime | None,
) -> None:
    """An expiry in the future, and a transaction window that is not inverted."""
    if expiration_at is not None and expiration_at <= now:
        raise FieldInvalid(
            "Data.ExpirationDateTime",
            "ExpirationDateTime must be in the future",
            error_code=ErrorCode.FIELD_INVALID_DATE,
        )
    if transaction_from_at and transaction_to_at and transaction_from_at > transaction_to_at:
        raise FieldInvalid(
            "Data.TransactionFromDateTime",
            "TransactionFromDateTime is after TransactionToDateTime",
            error_code=ErrorCode.FIELD_INVALID_DATE,
        )


def effective_status(status: str, expiration_at: datetime | None, now: datetime) -> str:
    """The status as of `now`: a live consent whose expiry has passed is EXPD."""
    if status in (AWAITING, AUTHORISED) and expiration_at is not None and expiration_at <= now:
        return EXPIRED
    return status


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise ConsentStateConflict(message=f"the consent is {current}; it cannot become {target}")


def level(granted: set[str], basic: str, detail: str) -> str | None:
    """ "Detail", "Basic" or None for a Basic/Detail permission pair."""
    if detail in granted:
        return "Detail"
    if basic in granted:
        return "Basic"
    return None
