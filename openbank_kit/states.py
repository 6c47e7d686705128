"""Explicit state machines: each resource's allowed transitions in one table, and the one check that applies them."""

from __future__ import annotations

from openbank_kit.errors import Conflict

# OBIE consent codes: AwaitingAuthorisation, Authorised, Rejected, Consumed, Expired, and Cancelled: the customer
# revoked it at the bank (sandbox consent dashboard) before it was used.
CONSENT_TRANSITIONS = {
    "AWAU": {"AUTH", "RJCT", "EXPD", "CANC"},
    "AUTH": {"COND", "EXPD", "CANC"},
    "RJCT": set(),
    "COND": set(),
    "EXPD": set(),
    "CANC": set(),
}


class IllegalTransition(Conflict):
    pass


def transition(table: dict[str, set[str]], kind: str, current: str, new: str) -> str:
    if new not in table.get(current, set()):
        raise IllegalTransition(message=f"a {kind} in status {current} cannot become {new}")
    return new
