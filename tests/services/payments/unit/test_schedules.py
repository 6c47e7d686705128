"""Standing order frequency maths (services/payments/domain/schedules.py): examples and properties."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbank_kit.clock import BANK_TIMEZONE
from services.payments.domain.schedules import (
    QUARTER_DAYS,
    Schedule,
    UnsupportedFrequency,
    next_date,
    parse_frequency,
)

FREQUENCIES = st.one_of(
    st.sampled_from(["EvryDay", "EvryWorkgDay", "QtrDay:ENGLISH", "QtrDay:SCOTTISH", "QtrDay:RECEIVED"]),
    st.integers(2, 31).map(lambda n: f"IntrvlDay:{n:02d}"),
    st.tuples(st.integers(1, 9), st.integers(1, 7)).map(lambda t: f"IntrvlWkDay:{t[0]:02d}:{t[1]:02d}"),
    st.tuples(st.integers(1, 5), st.integers(1, 7)).map(lambda t: f"WkInMnthDay:{t[0]:02d}:{t[1]:02d}"),
    st.tuples(
        st.sampled_from([1, 2, 3, 4, 5, 6, 12, 24]), st.sampled_from([*range(1, 32), -1, -2, -3, -4, -5])
    ).map(
        lambda t: (
            f"IntrvlMnthDay:{t[0]:02d}:{t[1]:02d}" if t[1] > 0 else f"IntrvlMnthDay:{t[0]:02d}:-{-t[1]:02d}"
        )
    ),
)
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=BANK_TIMEZONE)


def _dates(code: str, first: date, count: int) -> list[date]:
    frequency = parse_frequency(code)
    found = [first]
    for _ in range(count - 1):
        found.append(next_date(frequency, found[-1]))
    return found


@pytest.mark.parametrize("code", ["NotKnown", "DAIL", "MNTH", "IntrvlDay:01", "IntrvlWkDay:10:01",
                                  "IntrvlWkDay:01:08", "IntrvlMnthDay:07:01", "IntrvlMnthDay:01:32",
                                  "IntrvlMnthDay:01:-06", "QtrDay:IRISH", "", "EvryDay "])  # fmt: skip
def test_patterns_this_bank_does_not_run_are_refused_with_the_supported_list(code):
    with pytest.raises(UnsupportedFrequency, match="this bank runs EvryDay"):
        parse_frequency(code)


def test_day_31_every_month_clamps_to_the_end_of_february_and_comes_back_to_31():
    assert _dates("IntrvlMnthDay:01:31", date(2027, 1, 31), 5) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]  # fmt: skip
    assert _dates("IntrvlMnthDay:01:31", date(2028, 1, 31), 2)[1] == date(2028, 2, 29)  # leap year


def test_negative_month_day_counts_from_the_month_end():
    assert _dates("IntrvlMnthDay:01:-01", date(2027, 1, 31), 3) == [date(2027, 1, 31), date(2027, 2, 28),
                                                                    date(2027, 3, 31)]  # fmt: skip
    assert _dates("IntrvlMnthDay:01:-02", date(2027, 1, 30), 2)[1] == date(2027, 2, 27)


def test_an_off_pattern_first_payment_is_followed_by_the_next_pattern_date():
    assert _dates("IntrvlMnthDay:01:15", date(2027, 1, 10), 3) == [date(2027, 1, 10), date(2027, 1, 15),
                                                                   date(2027, 2, 15)]  # fmt: skip
    # 2027-01-06 is a Wednesday; every second Monday (01) from the next Monday.
    assert _dates("IntrvlWkDay:02:01", date(2027, 1, 6), 3) == [date(2027, 1, 6), date(2027, 1, 11),
                                                                date(2027, 1, 25)]  # fmt: skip


def test_every_working_day_skips_the_weekend():
    # 2027-01-08 is a Friday.
    assert _dates("EvryWorkgDay", date(2027, 1, 8), 3) == [
        date(2027, 1, 8),
        date(2027, 1, 11),
        date(2027, 1, 12),
    ]


def test_quarter_days_and_week_in_month():
    assert _dates("QtrDay:ENGLISH", date(2027, 3, 1), 5)[1:] == [date(2027, 3, 25), date(2027, 6, 24),
                                                                 date(2027, 9, 29), date(2027, 12, 25)]  # fmt: skip
    # The fifth Friday of the month, or the last one in a month with four.
    assert _dates("WkInMnthDay:05:05", date(2027, 1, 1), 3) == [date(2027, 1, 1), date(2027, 1, 29),
                                                                date(2027, 2, 26)]  # fmt: skip


@given(FREQUENCIES, DAYS)
def test_next_dates_always_move_forward_and_match_their_pattern(code, first):
    frequency = parse_frequency(code)
    dates = _dates(code, first, 14)
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False))
    assert all((b - a).days <= 800 for a, b in zip(dates, dates[1:], strict=False))
    later = dates[1:]
    if frequency.kind == "EvryWorkgDay":
        assert all(d.isoweekday() <= 5 for d in later)
    if frequency.kind in ("IntrvlWkDay", "WkInMnthDay"):
        assert all(d.isoweekday() == frequency.day for d in later)
    if frequency.kind == "IntrvlWkDay":
        assert all((b - a).days == 7 * frequency.interval for a, b in zip(later, later[1:], strict=False))
    if frequency.kind == "IntrvlDay":
        assert all((b - a).days == frequency.interval for a, b in zip(dates, dates[1:], strict=False))
    if frequency.kind == "QtrDay":
        assert all((d.month, d.day) in QUARTER_DAYS[frequency.quarter] for d in later)
    if frequency.kind == "IntrvlMnthDay" and frequency.day > 0:
        # the day of the month, or the month's last day when it is shorter
        assert all(d.day == frequency.day or (d + timedelta(days=1)).day == 1 for d in later)
        months = [d.year * 12 + d.month for d in later]
        assert all(b - a == frequency.interval for a, b in zip(months, months[1:], strict=False))


@given(FREQUENCIES, DAYS, st.integers(1, 40))
def test_a_number_of_payments_pays_exactly_that_many_with_first_and_final_amounts(code, first, number):
    schedule = Schedule(parse_frequency(code), _at(first), first_fen=100, recurring_fen=200, final_fen=300,
                        number_of_payments=number)  # fmt: skip
    occurrences = schedule.occurrences(limit=100)
    assert [n for n, _, _ in occurrences] == list(range(1, number + 1))
    assert all(
        at.hour == 9 and at.minute == 30 for _, at, _ in occurrences
    )  # the first payment's time of day
    amounts = [fen for _, _, fen in occurrences]
    if number == 1:
        assert amounts == [100]
    else:
        assert amounts == [100] + [200] * (number - 2) + [300]


@given(FREQUENCIES, DAYS, st.integers(0, 400))
def test_a_final_date_stops_the_order_on_or_before_that_day(code, first, days_after):
    final = first + timedelta(days=days_after)
    schedule = Schedule(parse_frequency(code), _at(first), first_fen=100, recurring_fen=100, final_fen=500,
                        final_at=_at(final, hour=8))  # fmt: skip
    occurrences = schedule.occurrences(limit=1000)
    assert occurrences[0][1].date() == first
    assert all(at.date() <= final for _, at, _ in occurrences)
    last_number, last_at, last_fen = occurrences[-1]
    assert schedule.following(last_number, last_at) is None
    assert next_date(parse_frequency(code), last_at.date()) > final
    assert last_fen == (500 if last_number > 1 else 100)


def test_an_open_ended_order_keeps_paying_the_recurring_amount():
    schedule = Schedule(parse_frequency("IntrvlMnthDay:01:01"), _at(date(2027, 1, 1)), first_fen=500,
                        recurring_fen=100, final_fen=100)  # fmt: skip
    occurrences = schedule.occurrences(limit=24)
    assert len(occurrences) == 24 and [fen for _, _, fen in occurrences] == [500] + [100] * 23
    assert occurrences[-1][1].date() == date(2028, 12, 1)


def test_a_recurring_date_sets_the_second_payment():
    schedule = Schedule(parse_frequency("IntrvlMnthDay:01:20"), _at(date(2027, 1, 3)), first_fen=100,
                        recurring_fen=100, final_fen=100, recurring_first_at=_at(date(2027, 2, 20)),
                        number_of_payments=3)  # fmt: skip
    assert [at.date() for _, at, _ in schedule.occurrences(10)] == [date(2027, 1, 3), date(2027, 2, 20),
                                                                    date(2027, 3, 20)]  # fmt: skip
