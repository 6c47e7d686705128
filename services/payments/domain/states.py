"""State machines of payment consents and domestic payments: transitions in one table each."""

from __future__ import annotations

from openbank_kit.states import CONSENT_TRANSITIONS, transition

# Payment consents follow the kit's OBIE CONSENT_TRANSITIONS. EXPD is kept there and on the internal contract; the
# OBIE PISP consent schema has no EXPD, so the wire shows an expired consent as RJCT with StatusReasonCode EXPD.
# ISO 20022 payment statuses (ExternalPaymentTransactionStatus1Code):
# RCVD accepted by us, not yet posted; ACCC same-bank, creditor credited; ACSP debited, in clearing to another
# bank; ACSC clearing settled; RJCT refused (StatusReason says why), nothing moved.
PAYMENT_TRANSITIONS = {
    "RCVD": {"ACCC", "ACSP", "RJCT"},
    "ACSP": {"ACSC", "RJCT"},  # RJCT: returned in clearing (the slow-clearing fault's refused credit)
    "ACCC": set(),
    "ACSC": set(),
    "RJCT": set(),
}


# CBPII consents (OBIE codes; this schema does have EXPD and CANC).
FUNDS_CONSENT_TRANSITIONS = {
    "AWAU": {"AUTH", "RJCT", "EXPD", "CANC"},
    "AUTH": {"CANC", "EXPD"},
    "RJCT": set(),
    "CANC": set(),
    "EXPD": set(),
}

__all__ = ["CONSENT_TRANSITIONS", "transition", "PAYMENT_TRANSITIONS", "FUNDS_CONSENT_TRANSITIONS"]
