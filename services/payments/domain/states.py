"""State machines of payment consents and domestic payments: transitions in one table each."""

from __future__ import annotations

from services.payments.domain.errors import IllegalTransition

# OBIE consent codes. EXPD is kept in our table and on the internal contract; the OBIE PISP consent schema has
# no EXPD, so the wire shows an expired consent as RJCT with StatusReasonCode EXPD (docs: README, Payments).
CONSENT_TRANSITIONS = {
    "AWAU": {"AUTH", "RJCT", "EXPD"},
    "AUTH": {"COND", "EXPD"},
    "RJCT": set(),
    "COND": set(),
    "EXPD": set(),
}
# ISO 20022 payment statuses (ExternalPaymentTransactionStatus1Code):
# RCVD accepted by us, not yet posted; ACCC same-bank, creditor credited; ACSP debited, in clearing to another
# bank; ACSC clearing settled; RJCT refused (StatusReason says why), nothing moved.
PAYMENT_TRANSITIONS = {
    "RCVD": {"ACCC", "ACSP", "RJCT"},
    "ACSP": {"ACSC"},
    "ACCC": set(),
    "ACSC": set(),
    "RJCT": set(),
}


def transition(table: dict[str, set[str]], kind: str, current: str, new: str) -> str:
    if new not in table.get(current, set()):
        raise IllegalTransition(message=f"a {kind} in status {current} cannot become {new}")
    return new


# CBPII consents (OBIE codes; this schema does have EXPD and CANC).
FUNDS_CONSENT_TRANSITIONS = {
    "AWAU": {"AUTH", "RJCT", "EXPD", "CANC"},
    "AUTH": {"CANC", "EXPD"},
    "RJCT": set(),
    "CANC": set(),
    "EXPD": set(),
}
