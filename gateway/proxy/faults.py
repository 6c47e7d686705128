"""Sandbox faults the front door acts on itself (docs/sandbox-faults.md): it never forwards these requests, or
forwards them late. The other faults travel on to the service in the same `x-openbank-fault` header.

The faults of a request are the ones its header names (one name or a comma-separated list), else the app's
per-app toggles (docs/sandbox-api.md). Of the transport faults the first that applies wins:
- `throttling`: 429 with `Retry-After` and an OBIE error, after the token checks; nothing forwarded.
- `bank-timeout`: after a delay (default 1000 ms), 504 with an OBIE error; nothing forwarded, so a retry with the
  same idempotency key and no fault is the first request the service sees.
- `slow-response`: waits (default 2000 ms), then forwards as usual.
`x-openbank-fault-delay-ms` (0..10000) sets the delay of the two faults that wait. Sandbox-only, off unless asked.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio

from openbank_kit.errors import ErrorCode, FieldInvalid, OBIEError, TooManyRequests
from openbank_kit.faults import (
    FAULT_DELAY_HEADER,
    FAULT_HEADER,
    checked_faults,
)

THROTTLING = "throttling"
BANK_TIMEOUT = "bank-timeout"
SLOW_RESPONSE = "slow-response"
GATEWAY_FAULTS = (THROTTLING, BANK_TIMEOUT, SLOW_RESPONSE)  # in precedence order
DEFAULT_DELAY_MS = {BANK_TIMEOUT: 1000, SLOW_RESPONSE: 2000}
MAX_DELAY_MS = 10_000  # well inside the DPoP proof's 60 s iat window
THROTTLING_RETRY_AFTER_S = 1


class GatewayTimeout(OBIEError):
    status_code = 504
    error_code = ErrorCode.UNEXPECTED_ERROR
    message = "The bank did not answer in time; retry later (sandbox fault bank-timeout)"


def requested(headers: Mapping[str, str]) -> frozenset[str]:
    """The faults the request's header names; an unknown name is a 400 that names the header."""
    return checked_faults(headers.get(FAULT_HEADER))


def gateway_action(faults: frozenset[str]) -> str | None:
    """The transport fault the front door applies, if any."""
    return next((name for name in GATEWAY_FAULTS if name in faults), None)


def delay_ms(action: str | None, headers: Mapping[str, str]) -> int:
    """How long to wait before answering (bank-timeout) or forwarding (slow-response); 0 for other faults."""
    if action not in DEFAULT_DELAY_MS:
        return 0
    value = headers.get(FAULT_DELAY_HEADER)
    if value is None:
        return DEFAULT_DELAY_MS[action]
    if not value.strip().isdecimal() or int(value) > MAX_DELAY_MS:
        raise FieldInvalid(
            FAULT_DELAY_HEADER,
            f"a whole number of milliseconds from 0 to {MAX_DELAY_MS}",
            error_code=ErrorCode.HEADER_INVALID,
        )
    return int(value)


def refuse(action: str | None) -> None:
    """Raise the answer of a fault that stops the request at the front door."""
    if action == THROTTLING:
        raise TooManyRequests(
            THROTTLING_RETRY_AFTER_S, message="simulated throttling (sandbox fault throttling); retry later"
        )
    if action == BANK_TIMEOUT:
        raise GatewayTimeout()


async def pause(wait_ms: int) -> None:
    """Wait on the event loop: nothing else waits for this request."""
    assert 0 <= wait_ms <= MAX_DELAY_MS
    await anyio.sleep(wait_ms / 1000)
