"""Faults a partner can ask for on purpose (DESIGN.md §4, docs/sandbox-faults.md): per request with the header,
or per app with the sandbox toggle (the gateway adds the header when the request carries none).

One list for every part: the gateway (the header, the per-app toggles, and the transport faults it answers itself)
and the services that act on a fault. Sandbox-only.
"""

from __future__ import annotations

from openbank_kit.errors import ErrorCode, FieldInvalid

FAULT_HEADER = "x-openbank-fault"
# slow-response and bank-timeout only: how long the gateway waits (milliseconds, bounded).
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

# Every documented fault name, in the documented order; the per-app toggle accepts exactly these.
KNOWN_FAULTS: tuple[str, ...] = tuple(FAULT_DESCRIPTIONS)
MAX_FAULTS_PER_APP = len(KNOWN_FAULTS)


def requested_faults(header_value: str | None) -> frozenset[str]:
    """The fault names a request asks for: `x-openbank-fault: a` or a comma-separated list (`a, b`), as the
    gateway sends an app's toggles. Unknown names are ignored here; the gateway and the toggle refuse them."""
    if not header_value:
        return frozenset()
    return frozenset(
        name.strip().lower() for name in header_value.split(",")[:MAX_FAULTS_PER_APP] if name.strip()
    )


def unknown_faults(header_value: str | None) -> list[str]:
    """The names in the header that are not documented faults (the gateway answers 400 naming the header)."""
    if not header_value:
        return []
    names = [name.strip().lower() for name in header_value.split(",") if name.strip()]
    return [name for name in names if name not in KNOWN_FAULTS] or (
        ["(too many)"] if len(names) > MAX_FAULTS_PER_APP else []
    )


def checked_faults(header_value: str | None) -> frozenset[str]:
    """The faults the header names; an unknown name is refused (400 naming the header) before anything changes."""
    unknown = unknown_faults(header_value)
    if unknown:
        raise FieldInvalid(
            FAULT_HEADER,
            f"unknown sandbox fault {unknown[0][:40]!r}; known: {', '.join(KNOWN_FAULTS)}",
            error_code=ErrorCode.HEADER_INVALID,
        )
    return requested_faults(header_value)
