from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbank_kit.errors import ErrorCode, FieldInvalid, FieldMissing
from openbank_kit.money import CNY, FEN, Money, quantize_fen

WIRE = re.compile(r"^\d{1,13}$|^\d{1,13}\.\d{1,5}$")
MAX_FEN = 10**15 - 1  # 13 integer digits of yuan
fen_amounts = st.integers(min_value=-MAX_FEN, max_value=MAX_FEN)
yuan_amounts = st.decimals(
    min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),
        ("-0.005", "-0.01"),
        ("-0.015", "-0.02"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),
        ("1.00499", "1.00"),
    ],
)
def test_quantize_fen_rounds_half_away_from_zero(value: str, expected: str) -> None:
    assert quantize_fen(Decimal(value)) == Decimal(expected)
    assert quantize_fen(Decimal(value)).as_tuple().exponent == -2


def test_quantize_fen_refuses_float() -> None:
    with pytest.raises(TypeError):
        quantize_fen(0.1)  # type: ignore[arg-type]


def test_from_wire_parses_and_to_wire_always_has_two_decimals() -> None:
    assert Money.from_wire("8661.9", "CNY").to_wire() == "8661.90"
    assert Money.from_wire("50000", "CNY").to_wire() == "50000.00"
    assert Money.from_wire("1.50000", "CNY").to_wire() == "1.50"
    assert Money.from_wire("0", "CNY").is_zero()


def test_to_obie_is_the_obie_amount_object() -> None:
    assert Money.from_fen(866190).to_obie() == {"Amount": "8661.90", "Currency": "CNY"}
    assert Money.from_obie({"Amount": "8661.90", "Currency": "CNY"}) == Money(Decimal("8661.90"), CNY)


@pytest.mark.parametrize(
    "amount", ["-1.00", "1e3", "1,00", " 1.00", "1.", ".5", "12345678901234", "1.123456", ""]
)
def test_from_wire_refuses_amounts_outside_the_obie_pattern(amount: str) -> None:
    with pytest.raises(FieldInvalid) as caught:
        Money.from_wire(amount, "CNY", path="Data.Initiation.InstructedAmount")
    assert caught.value.path == "Data.Initiation.InstructedAmount.Amount"
    assert caught.value.error_code == ErrorCode.FIELD_INVALID


def test_from_wire_refuses_a_fraction_of_a_fen() -> None:
    with pytest.raises(FieldInvalid) as caught:
        Money.from_wire("1.005", "CNY")
    assert caught.value.path == "Data.Amount.Amount"
    assert "fen" in caught.value.message


def test_from_wire_refuses_other_currencies_with_unsupported_currency() -> None:
    with pytest.raises(FieldInvalid) as caught:
        Money.from_wire("10.00", "USD")
    assert caught.value.path == "Data.Amount.Currency"
    assert caught.value.error_code == ErrorCode.UNSUPPORTED_CURRENCY
    assert "CNY" in caught.value.message


@pytest.mark.parametrize("currency", ["cny", "CN", "CNYY", "", 156])
def test_from_wire_refuses_currencies_that_are_not_iso_4217_codes(currency: object) -> None:
    with pytest.raises(FieldInvalid) as caught:
        Money.from_wire("10.00", currency)  # type: ignore[arg-type]
    assert caught.value.error_code == ErrorCode.FIELD_INVALID
    assert caught.value.path == "Data.Amount.Currency"


def test_from_wire_refuses_a_json_number_as_a_400_that_is_also_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money.from_wire(10.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(FieldInvalid):
        Money.from_wire(10.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(FieldInvalid):
        Money.from_wire(10, "CNY")  # type: ignore[arg-type]


def test_from_obie_reports_the_missing_member_and_non_objects() -> None:
    with pytest.raises(FieldMissing) as caught:
        Money.from_obie({"Amount": "1.00"}, path="Data.Payee.Amount")
    assert caught.value.path == "Data.Payee.Amount.Currency"
    with pytest.raises(FieldInvalid) as caught_invalid:
        Money.from_obie("1.00", path="Data.Amount")
    assert caught_invalid.value.path == "Data.Amount"


def test_float_is_refused_everywhere() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.from_fen(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.from_fen(100) * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money.from_fen(100) + 1.5  # type: ignore[operator]


def test_int_amount_is_refused_because_yuan_or_fen_would_be_a_guess() -> None:
    with pytest.raises(TypeError):
        Money(5)  # type: ignore[arg-type]


def test_fen_is_exact_and_refuses_sub_fen_amounts() -> None:
    assert Money(Decimal("8661.90")).fen == 866190
    assert Money(Decimal("-0.01")).fen == -1
    with pytest.raises(ValueError):
        _ = Money(Decimal("1.005")).fen
    with pytest.raises(ValueError):
        Money(Decimal("1.005")).to_wire()
    assert Money(Decimal("1.005")).quantized().to_wire() == "1.01"


def test_arithmetic_keeps_currency_and_refuses_mixing() -> None:
    a, b = Money.from_fen(150), Money.from_fen(75)
    assert (a + b).fen == 225
    assert (a - b).fen == 75
    assert (-a).fen == -150
    assert (b - a).is_negative()
    assert abs(b - a) == b
    usd = Money(Decimal("1.00"), "USD")
    with pytest.raises(ValueError):
        a + usd
    with pytest.raises(ValueError):
        a - usd
    with pytest.raises(ValueError):
        _ = a < usd


def test_comparisons() -> None:
    one, two = Money.from_fen(100), Money.from_fen(200)
    assert one < two <= two
    assert two > one >= one
    assert Money(Decimal("1.1")) == Money(Decimal("1.10"))
    assert hash(Money(Decimal("1.1"))) == hash(Money(Decimal("1.10")))


def test_multiplication_is_quantized_half_up() -> None:
    principal = Money.from_fen(100)  # 1.00
    assert principal * Decimal("0.335") == Money(Decimal("0.34"))
    assert (principal * Decimal("0.335")).amount.as_tuple().exponent == -2
    assert 3 * principal == Money.from_fen(300)
    assert principal * -1 == Money.from_fen(-100)


def test_negative_zero_is_rendered_as_zero() -> None:
    assert (-Money.zero()).to_wire() == "0.00"


@given(fen_amounts.filter(lambda fen: fen >= 0))
def test_wire_round_trip(fen: int) -> None:
    money = Money.from_fen(fen)
    wire = money.to_wire()
    assert WIRE.match(wire)
    assert re.fullmatch(r"\d+\.\d{2}", wire)
    assert Money.from_wire(wire, CNY) == money


@given(fen_amounts)
def test_fen_round_trip(fen: int) -> None:
    assert Money.from_fen(fen).fen == fen


@given(yuan_amounts, yuan_amounts, yuan_amounts)
def test_addition_is_associative_and_exact(a: Decimal, b: Decimal, c: Decimal) -> None:
    x, y, z = Money(a), Money(b), Money(c)
    assert (x + y) + z == x + (y + z)
    assert ((x + y) + z).fen == x.fen + y.fen + z.fen


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_quantize_is_within_half_a_fen_and_idempotent(value: Decimal) -> None:
    rounded = quantize_fen(value)
    assert abs(rounded - value) <= FEN / 2
    assert quantize_fen(rounded) == rounded
    assert quantize_fen(-value) == -rounded  # symmetric: half away from zero


@given(st.integers(min_value=-999_999_999_999_999, max_value=999_999_999_999_999))
def test_fen_to_obie_is_exactly_what_money_renders(fen: int) -> None:
    from openbank_kit.money import fen_to_obie

    assert fen_to_obie(fen) == Money.from_fen(fen).to_obie()


def test_fen_to_wire_refuses_what_money_refuses() -> None:
    from openbank_kit.money import fen_to_wire

    for bad in (10**15, -(10**15)):
        with pytest.raises(ValueError):
            Money.from_fen(bad).to_wire()
        with pytest.raises(ValueError):
            fen_to_wire(bad)
    for not_int in (1.5, True, "100"):
        with pytest.raises(TypeError):
            fen_to_wire(not_int)
