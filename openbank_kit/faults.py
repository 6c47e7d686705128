"""Faults a partner can ask for on purpose (DESIGN.md §4, docs/sandbox-faults.md): per request with the header,
or per app with the sandbox toggle (the gateway adds the header when the request carries none)."""

from __future__ import annotations

FAULT_HEADER = "x-openbank-fault"

# Every documented fault name; the per-app toggle accepts exactly these.
KNOWN_FAULTS: tuple[str, ...] = (
    "webhook-failure",
    "payment-rejected",
    "insufficient-funds",
    "bank-timeout",
    "slow-clearing",
)
MAX_FAULTS_PER_APP = len(KNOWN_FAULTS)


def requested_faults(header_value: str | None) -> frozenset[str]:
    """The fault names a request asks for: `x-openbank-fault: a` or a comma-separated list (`a, b`), as the
    gateway sends an app's toggles. Unknown names are ignored here; the per-app toggle refuses them."""
    if not header_value:
        return frozenset()
    return frozenset(name.strip() for name in header_value.split(",")[:MAX_FAULTS_PER_APP] if name.strip())
