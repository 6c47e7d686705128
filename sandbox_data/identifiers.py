"""Valid, unique identifiers: resident ids (GB 11643), USCCs (GB 32100), account numbers (Luhn), mobiles.

Account numbers of this bank use one fake BIN, BANK_BIN; accounts at other banks (employers, landlords, a
bound Class I elsewhere) use OTHER_BANK_BIN. Both are sandbox inventions: change them here, in one place,
if a deployment needs a different range.
"""

from __future__ import annotations

import random
from datetime import date
from functools import cache

from stdnum import luhn
from stdnum.cn import ric, uscc

from sandbox_data.names import ALWAYS_VALID_REGIONS, BIRTH_REGIONS

BANK_BIN = "621999"  # this (fictional) bank's debit-card BIN: 19-digit numbers, BIN + 12 digits + Luhn
OTHER_BANK_BIN = "621998"  # stands for "some other bank" on statements and in bindings
INTERNAL_SERIAL_BASE = 900_000_000_000  # internal accounts sit at the top of the bank's serial range

_MOBILE_PREFIXES = (
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "183", "187",
    "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "177", "199",
)  # fmt: skip
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V


@cache
def _region_existed(region: str, year: int) -> bool:
    """Whether the county code was in use in that year (stdnum checks this when validating an id)."""
    body = f"{region}{year}0101001"
    return ric.is_valid(body + ric.calc_check_digit(body + "0"))


def account_number(serial: int, bin_prefix: str = BANK_BIN) -> str:
    """A 19-digit Luhn-valid account number: BIN + 12-digit serial + check digit."""
    body = f"{bin_prefix}{serial:012d}"
    return body + luhn.calc_check_digit(body)


def _org_code(rng: random.Random) -> str:
    """A 9-character GB 11714 organisation code (8 digits + its own check character)."""
    digits = [rng.randrange(10) for _ in range(8)]
    total = sum(d * w for d, w in zip(digits, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return "".join(map(str, digits)) + {10: "X", 11: "0"}.get(check, str(check))


class IdentifierFactory:
    """Hands out identifiers and remembers them, so that none is ever issued twice in one world."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._mobiles: set[str] = set()
        self._external_serial = 0

    def resident_id(self, rng: random.Random, region: str, birth_date: date, gender: str) -> str:
        """A valid 18-character id; the region falls back along BIRTH_REGIONS if it did not exist yet."""
        regions = [region, *BIRTH_REGIONS[BIRTH_REGIONS.index(region) + 1 :], *ALWAYS_VALID_REGIONS]
        usable = next(r for r in regions if _region_existed(r, birth_date.year))
        while True:
            seq = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)  # odd sequence = male
            body = f"{usable}{birth_date:%Y%m%d}{seq:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self._ids:
                self._ids.add(number)
                return ric.validate(number)

    def uscc(self, rng: random.Random, region: str) -> str:
        """A valid unified social credit code for an enterprise (9 = market regulator, 1 = company)."""
        while True:
            body = f"91{region}{_org_code(rng)}"
            number = body + uscc.calc_check_digit(body)
            if number not in self._ids and all(c in _USCC_ALPHABET for c in number):
                self._ids.add(number)
                return number

    def mobile(self, rng: random.Random) -> str:
        while True:
            number = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if number not in self._mobiles:
                self._mobiles.add(number)
                return number

    def external_account_number(self) -> str:
        """An account at another bank; sequential, so unique and independent of call order elsewhere."""
        self._external_serial += 1
        return account_number(self._external_serial, OTHER_BANK_BIN)
