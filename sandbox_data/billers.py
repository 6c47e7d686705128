"""The biller directory (utilities in the bank's home city), customer references and bills.

A bill for period P (a month of usage) is issued on the 1st of the next month and paid a few days later.
The latest period before the as-of date is still OUTSTANDING for everyone (due on the 25th of the as-of
month); the few periods before it are PAID, each matching one UTILITY ledger transaction.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from sandbox_data.model import Utility


@dataclass(frozen=True)
class Biller:
    biller_id: str
    name: str
    category: str  # GAS | WATER | ELECTRICITY | TELECOM | TRANSIT
    reference_label: str
    reference_pattern: str
    prefix: str  # references are prefix + random digits up to the pattern's length
    digits: int
    mcc: str  # ISO 18245: 4900 utilities, 4814 telecom, 4784 tolls, 4111 transit

    @property
    def settlement_account_id(self) -> str:
        return f"INT-BILLER-{self.biller_id}"


BILLERS: tuple[Biller, ...] = (
    Biller("BLR-ELEC-01", "南方电网深圳供电局", "ELECTRICITY", "用电户号", r"^0300\d{9}$", "0300", 9, "4900"),
    Biller(
        "BLR-ELEC-02",
        "深圳前海蛇口自贸区供电有限公司",
        "ELECTRICITY",
        "用电户号",
        r"^0310\d{9}$",
        "0310",
        9,
        "4900",
    ),
    Biller("BLR-GAS-01", "深圳市燃气集团股份有限公司", "GAS", "燃气户号", r"^8\d{9}$", "8", 9, "4900"),
    Biller("BLR-GAS-02", "华润燃气", "GAS", "燃气户号", r"^62\d{8}$", "62", 8, "4900"),
    Biller("BLR-WATER-01", "深圳市水务（集团）有限公司", "WATER", "用水户号", r"^1\d{9}$", "1", 9, "4900"),
    Biller("BLR-WATER-02", "深圳市宝安区水务集团", "WATER", "用水户号", r"^BA\d{8}$", "BA", 8, "4900"),
    Biller("BLR-TEL-01", "中国移动广东公司", "TELECOM", "手机号码", r"^1[3-9]\d{9}$", "", 0, "4814"),
    Biller("BLR-TEL-02", "中国电信广东公司", "TELECOM", "宽带账号", r"^0755\d{8}$", "0755", 8, "4814"),
    Biller("BLR-TRANSIT-01", "粤通卡ETC", "TRANSIT", "粤通卡号", r"^4401\d{16}$", "4401", 16, "4784"),
    Biller("BLR-TRANSIT-02", "深圳通", "TRANSIT", "深圳通卡号", r"^3\d{8}$", "3", 8, "4111"),
)
BILLERS_BY_ID = {biller.biller_id: biller for biller in BILLERS}
BILLERS_BY_CATEGORY: dict[str, tuple[Biller, ...]] = {}
for _biller in BILLERS:
    BILLERS_BY_CATEGORY[_biller.category] = (*BILLERS_BY_CATEGORY.get(_biller.category, ()), _biller)

# Typical monthly amount ranges (fen) per category.
_BASE_RANGE = {
    "ELECTRICITY": (9_000, 38_000),
    "GAS": (3_500, 12_000),
    "WATER": (3_000, 9_000),
    "TELECOM": (3_800, 19_900),
    "TRANSIT": (8_000, 45_000),
}
PAID_BILL_PERIODS = 3  # how many settled periods before the outstanding one get a bill row


class ReferenceBook:
    """Customer references per biller, unique within the biller."""

    def __init__(self) -> None:
        self._used: set[tuple[str, str]] = set()

    def reference(self, rng: random.Random, biller: Biller, mobile: str) -> str:
        while True:
            if biller.digits == 0:
                value = mobile  # mobile operators know their customer by phone number
            else:
                value = biller.prefix + f"{rng.randrange(10**biller.digits):0{biller.digits}d}"
            if (biller.biller_id, value) not in self._used:
                self._used.add((biller.biller_id, value))
                assert re.match(biller.reference_pattern, value)
                return value
            if biller.digits == 0:
                raise ValueError(f"mobile {mobile} already registered with {biller.biller_id}")


def choose_utilities(
    rng: random.Random, book: ReferenceBook, mobile: str, categories: tuple[str, ...]
) -> list[Utility]:
    utilities = []
    for category in categories:
        biller = rng.choice(BILLERS_BY_CATEGORY[category])
        low, high = _BASE_RANGE[category]
        base = (
            rng.randrange(low, high) // 10 * 10
            if category != "TELECOM"
            else rng.choice((3_800, 5_800, 8_800, 12_800, 19_900))
        )
        utilities.append(Utility(biller.biller_id, book.reference(rng, biller, mobile), base))
    return utilities


def bill_amount(utility: Utility, period: str, customer_id: str, seed: int) -> int:
    """The bill for one period: telecom is a flat plan; energy follows the season (Shenzhen summers)."""
    category = BILLERS_BY_ID[utility.biller_id].category
    if category == "TELECOM":
        return utility.base_fen
    month = int(period[5:7])
    season = {"ELECTRICITY": (0.8, 0.75, 0.8, 0.95, 1.2, 1.45, 1.6, 1.6, 1.4, 1.1, 0.9, 0.85)}.get(
        category, (1.15, 1.1, 1.0, 1.0, 0.95, 0.9, 0.9, 0.9, 0.95, 1.0, 1.05, 1.15)
    )[month - 1]
    jitter = random.Random(f"{seed}:bill:{customer_id}:{utility.biller_id}:{period}").uniform(0.85, 1.15)
    return max(500, int(utility.base_fen * season * jitter) // 10 * 10)


def biller_rows() -> list[dict]:
    return [
        {
            "biller_id": b.biller_id,
            "name": b.name,
            "category": b.category,
            "settlement_account_id": b.settlement_account_id,
            "reference_label": b.reference_label,
            "reference_pattern": b.reference_pattern,
        }
        for b in sorted(BILLERS, key=lambda b: b.biller_id)
    ]
