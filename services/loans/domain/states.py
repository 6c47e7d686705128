"""State machines of lending consents, applications and loans: transitions in one table each."""

from __future__ import annotations

from services.loans.domain.errors import IllegalTransition

# OBIE consent codes: AwaitingAuthorisation, Authorised, Rejected, Consumed, Expired.
CONSENT_TRANSITIONS = {
    "AWAU": {"AUTH", "RJCT", "EXPD"},
    "AUTH": {"COND", "EXPD"},
    "RJCT": set(),
    "COND": set(),
    "EXPD": set(),
}
# An application is decided synchronously; an approved one waits for its offer to be accepted.
APPLICATION_TRANSITIONS = {
    "APPROVED": {"ACCEPTED", "EXPIRED"},
    "REFERRED": set(),
    "DECLINED": set(),
    "ACCEPTED": set(),
    "EXPIRED": set(),
}
# A loan is DISBURSING until the ledger confirms the posting; then ACTIVE until repaid (or OVERDUE).
LOAN_TRANSITIONS = {
    "DISBURSING": {"ACTIVE"},
    "ACTIVE": {"OVERDUE", "CLOSED"},
    "OVERDUE": {"ACTIVE", "CLOSED"},
    "CLOSED": set(),
}


def transition(table: dict[str, set[str]], kind: str, current: str, new: str) -> str:
    if new not in table.get(current, set()):
        raise IllegalTransition(message=f"a {kind} in status {current} cannot become {new}")
    return new
