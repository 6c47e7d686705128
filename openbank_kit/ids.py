"""Resource ids: `<prefix>_<26 chars>`, time-sortable, URL-safe, at most 40 chars (OBIE Max40Text).

The 26 characters are a ULID in lower-case Crockford base32: a 48-bit millisecond timestamp then 80 random
bits from `secrets`. Ids made in the same millisecond sort in random order among themselves.
"""

from __future__ import annotations

import re
import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"  # no i, l, o, u: nothing to misread when read aloud
PREFIX_PATTERN = re.compile(r"^[a-z]{2,8}$")
ID_PATTERN = re.compile(r"^[a-z]{2,8}_[0-9a-hjkmnp-tv-z]{26}$")
MAX_ID_CHARS = 40
_ENCODED_CHARS = 26  # 130 bits of base32 hold the 128-bit value


# Two characters per 10 bits: 13 lookups for the 26 characters (ids are made several times per request).
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_SHIFTS = range(120, -1, -10)
_PREFIXES_SEEN: set[str] = set()


def new_id(prefix: str) -> str:
    if prefix not in _PREFIXES_SEEN:
        if not isinstance(prefix, str) or not PREFIX_PATTERN.match(prefix):
            raise ValueError(f"id prefix must be 2-8 lower-case letters, got {prefix!r}")
        _PREFIXES_SEEN.add(prefix)
    timestamp_ms = time.time_ns() // 1_000_000
    value = (timestamp_ms & (2**48 - 1)) << 80 | secrets.randbits(80)
    identifier = prefix + "_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])
    assert len(identifier) <= MAX_ID_CHARS
    return identifier


def is_id(value: str, prefix: str | None = None) -> bool:
    """Whether `value` looks like an id from new_id (optionally with this prefix)."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        return False
    return prefix is None or value.split("_", 1)[0] == prefix
