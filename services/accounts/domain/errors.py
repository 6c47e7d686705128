"""Ledger refusals, each carrying the OBIE error it becomes on the wire."""

from openbank_kit.errors import BadRequest, NotFound


class UnbalancedTransaction(BadRequest):
    """Postings of one ledger transaction must sum to zero."""


class UnknownAccount(NotFound):
    """A posting names an account this tenant does not have."""


class BalanceRuleBroken(BadRequest):
    """The transaction would leave an account outside what it may hold (no overdraft, Class Ⅲ cap)."""
