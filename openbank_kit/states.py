"""Explicit state machines: each resource's allowed transitions in one table, and the one check that applies them."""

from __future__ import annotations

from openbank_kit.errors import Conflict

# OBIE consent codes: AwaitingAuthorisation, Authorised, Rejected, Consumed, Expired.
CONSENT_TRANSITIONS = {
    "AWAU": {"AUTH", "RJCT", "EXPD"},
    "AUTH": {"COND", "EXPD"},
    "RJCT": set(),
    "COND": set(),
    "EXPD": set(),
}


class IllegalTransition(Conflict):
    pass


def transition(table: dict[str, set[str]], kind: str, current: str, new: str) -> str:
    if new not in table.get(current, set()):
        raise IllegalTransition(message=f"a {kind} in status {current} cannot become {new}")
    return new
