"""State machines of lending consents, applications and loans: transitions in one table each."""

from __future__ import annotations

from openbank_kit.states import CONSENT_TRANSITIONS, transition

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

__all__ = ["CONSENT_TRANSITIONS", "transition", "APPLICATION_TRANSITIONS", "LOAN_TRANSITIONS"]
