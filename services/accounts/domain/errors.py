"""Ledger refusals, each carrying the OBIE error it becomes on the wire."""

from openbank_kit.errors import BadRequest, Conflict, NotFound


class UnbalancedTransaction(BadRequest):
    """Postings of one ledger transaction must sum to zero."""


class UnknownAccount(NotFound):
    """A posting names an account this tenant does not have."""


class BalanceRuleBroken(BadRequest):
    """The transaction would leave an account outside what it may hold (no overdraft, Class Ⅲ cap)."""


class ConsentStateConflict(Conflict):
    """The consent's status does not allow this change (already decided, expired, cancelled)."""


class HoldStateConflict(Conflict):
    """The hold is no longer PLACED."""
