"""Sandbox faults on demand: the names a partner may ask for with `x-openbank-fault: <name>`.

One list for every part: the gateway (per-request header and per-app toggles that inject the same header)
and the services that act on a fault. Sandbox-only; see docs/sandbox-faults.md for what each one does.
"""

from __future__ import annotations

FAULT_HEADER = "x-openbank-fault"
# slow-response only: how long the gateway waits before forwarding (milliseconds, bounded).
FAULT_DELAY_HEADER = "x-openbank-fault-delay-ms"

FAULT_DESCRIPTIONS: dict[str, str] = {
    "webhook-failure": "every push delivery to the event subscription fails (retries, then dead-lettered)",
    "payment-rejected": "the domestic payment is created and ends RJCT with a StatusReason; no money moves",
    "insufficient-funds": "the payment or funds check behaves as a real shortfall (RJCT AM04 / FundsAvailable false)",
    "bank-timeout": "the gateway answers 504 with an OBIE error after a short delay; nothing is forwarded",
    "slow-clearing": "a same-bank payment stays ACSP until the next sandbox clock advance, then ACSC",
    "throttling": "the gateway answers 429 with Retry-After and an OBIE error; nothing is forwarded",
    "slow-response": "the gateway waits (default 2000 ms, x-openbank-fault-delay-ms up to 10000) then forwards",
}

KNOWN_FAULTS: frozenset[str] = frozenset(FAULT_DESCRIPTIONS)


def is_known_fault(name: str) -> bool:
    """True when `name` is one of the documented sandbox faults (exact, lower-case)."""
    return name in KNOWN_FAULTS
