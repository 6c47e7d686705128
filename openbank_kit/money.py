"""Exact money: Decimal amounts, one rounding rule, OBIE wire strings. Floats are refused everywhere.

Rounding rule (the project's only one): ROUND_HALF_UP to the fen (0.01), i.e. halves go away from zero
(0.005 -> 0.01, -0.005 -> -0.01). Rounding happens only where asked (`quantize_fen`, `*`); parsing and
`.fen` refuse amounts that are not a whole number of fen rather than round them silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import total_ordering
from typing import Any

from openbank_kit.errors import ErrorCode, FieldInvalid, FieldMissing

CNY = "CNY"
FEN = Decimal("0.01")
SUPPORTED_CURRENCIES = frozenset({CNY})

# OBActiveCurrencyAndAmount_SimpleType: unsigned, up to 13 integer and 5 fractional digits.
WIRE_AMOUNT_PATTERN = re.compile(r"^\d{1,13}$|^\d{1,13}\.\d{1,5}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_WIRE_AMOUNT = Decimal("9999999999999.99")


class FloatAmountError(FieldInvalid, TypeError):
    """A float reached a money field from the wire: a 400 for the caller, and still a TypeError."""


def quantize_fen(value: Decimal) -> Decimal:
    """Round to the fen, half away from zero."""
    _refuse_non_decimal(value)
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def _refuse_non_decimal(value: object) -> None:
    if isinstance(value, float):
        raise TypeError("money never uses float; pass a Decimal or a decimal string")
    if not isinstance(value, Decimal):
        raise TypeError(f"expected Decimal, got {type(value).__name__}")


def _is_whole_fen(value: Decimal) -> bool:
    return value == value.quantize(FEN)


@total_ordering
@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = CNY

    def __post_init__(self) -> None:
        # int is refused too: Money(5) would be ambiguous between yuan and fen; use from_fen.
        _refuse_non_decimal(self.amount)
        if not self.amount.is_finite():
            raise ValueError(f"amount must be finite, got {self.amount}")
        if not isinstance(self.currency, str) or not CURRENCY_PATTERN.match(self.currency):
            raise ValueError(f"currency must be an ISO 4217 code such as CNY, got {self.currency!r}")

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def from_fen(cls, fen: int, currency: str = CNY) -> Money:
        if isinstance(fen, bool) or not isinstance(fen, int):
            raise TypeError(f"fen must be an int, got {type(fen).__name__}")
        return cls(Decimal(fen).scaleb(-2), currency)

    @classmethod
    def zero(cls, currency: str = CNY) -> Money:
        return cls(Decimal("0.00"), currency)

    @classmethod
    def from_wire(cls, amount: str, currency: str, path: str = "Data.Amount") -> Money:
        """Parse an OBIE Amount/Currency pair; `path` is the Amount object's JSON path, for errors."""
        amount_path, currency_path = f"{path}.Amount", f"{path}.Currency"
        if isinstance(amount, float):
            raise FloatAmountError(
                amount_path, 'Amount must be a decimal string such as "50000.00", not a number'
            )
        if not isinstance(amount, str) or not WIRE_AMOUNT_PATTERN.match(amount):
            raise FieldInvalid(
                amount_path,
                'Amount must be a decimal string of up to 13 digits and up to 5 decimals, such as "50000.00"',
            )
        value = Decimal(amount)
        if not _is_whole_fen(value):
            raise FieldInvalid(amount_path, f"Amount {amount} is not a whole number of fen (0.01)")
        if not isinstance(currency, str) or not CURRENCY_PATTERN.match(currency):
            raise FieldInvalid(currency_path, "Currency must be a 3-letter ISO 4217 code such as CNY")
        if currency not in SUPPORTED_CURRENCIES:
            raise FieldInvalid(
                currency_path,
                f"Currency {currency} is not supported; this bank only holds CNY",
                error_code=ErrorCode.UNSUPPORTED_CURRENCY,
            )
        return cls(quantize_fen(value), currency)

    @classmethod
    def from_obie(cls, obj: Any, path: str = "Data.Amount") -> Money:
        """Parse `{"Amount": "8661.90", "Currency": "CNY"}`."""
        if not isinstance(obj, dict):
            raise FieldInvalid(path, "must be an object with Amount and Currency")
        for key in ("Amount", "Currency"):
            if obj.get(key) is None:
                raise FieldMissing(f"{path}.{key}")
        return cls.from_wire(obj["Amount"], obj["Currency"], path=path)

    # --- views ---------------------------------------------------------------------------------
    @property
    def fen(self) -> int:
        if not _is_whole_fen(self.amount):
            raise ValueError(f"{self.amount} is not a whole number of fen; quantize it first")
        return int(self.amount.scaleb(2))

    def quantized(self) -> Money:
        return Money(quantize_fen(self.amount), self.currency)

    def to_wire(self) -> str:
        """Two fractional digits, e.g. "8661.90". OBIE amounts are unsigned: send abs() with a
        CreditDebitIndicator; a negative amount renders with "-" for internal APIs only."""
        if not _is_whole_fen(self.amount):
            raise ValueError(f"{self.amount} is not a whole number of fen; quantize it before sending")
        if abs(self.amount) > MAX_WIRE_AMOUNT:
            raise ValueError(f"{self.amount} exceeds the 13 integer digits OBIE amounts allow")
        value = self.amount.quantize(FEN)
        return f"{abs(value) if value == 0 else value:f}"  # never "-0.00"

    def to_obie(self) -> dict[str, str]:
        return {"Amount": self.to_wire(), "Currency": self.currency}

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    # --- arithmetic ----------------------------------------------------------------------------
    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        # A product (rate x principal) is rounded here, once, so it never leaks sub-fen amounts.
        if isinstance(factor, float):
            raise TypeError("money never uses float; multiply by a Decimal")
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            return NotImplemented
        try:
            return Money(quantize_fen(self.amount * factor), self.currency)
        except InvalidOperation as exc:
            raise ValueError(f"cannot multiply {self} by {factor}") from exc

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount


MAX_WIRE_FEN = 999_999_999_999_999  # MAX_WIRE_AMOUNT in fen


def fen_to_wire(fen: int) -> str:
    """`Money.from_fen(fen).to_wire()` from integer arithmetic: a schedule renders dozens of amounts per answer."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be an int, got {type(fen).__name__}")
    if abs(fen) > MAX_WIRE_FEN:
        raise ValueError(f"{fen} fen exceeds the 13 integer digits OBIE amounts allow")
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole}.{cents:02d}"


def fen_to_obie(fen: int, currency: str = CNY) -> dict[str, str]:
    """`Money.from_fen(fen, currency).to_obie()`, the fast way (see fen_to_wire)."""
    return {"Amount": fen_to_wire(fen), "Currency": currency}
