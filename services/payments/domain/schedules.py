"""Standing order schedules (OBIE `Frequency` patterns), pure: no I/O, no clock.

A schedule is its first payment date, optionally a first recurring date, a frequency and an end (a number of
payments, a final date, or none). Occurrences are numbered from 1 and keep the first payment's time of day.
Every date is a calendar date in the bank's time zone; "working day" means Monday to Friday (public holidays
are not modelled in the sandbox).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# The OBIE Frequency patterns this bank runs (NotKnown and the ISO codes DAIL, WEEK, ... are refused).
_PATTERN = re.compile(
    r"^(?:(?P<every_day>EvryDay)|(?P<every_working_day>EvryWorkgDay)"
    r"|IntrvlDay:(?P<interval_days>0[2-9]|[12][0-9]|3[01])"
    r"|IntrvlWkDay:(?P<interval_weeks>0[1-9]):(?P<week_day>0[1-7])"
    r"|WkInMnthDay:(?P<week_in_month>0[1-5]):(?P<month_week_day>0[1-7])"
    r"|IntrvlMnthDay:(?P<interval_months>0[1-6]|12|24):(?P<month_day>-0[1-5]|0[1-9]|[12][0-9]|3[01])"
    r"|QtrDay:(?P<quarter>ENGLISH|SCOTTISH|RECEIVED))$"
)
SUPPORTED = (
    "EvryDay, EvryWorkgDay, IntrvlDay:NN (02-31), IntrvlWkDay:0W:0D, WkInMnthDay:0W:0D, "
    "IntrvlMnthDay:MM:DD (MM 01-06|12|24, DD 01-31 or -01..-05 from the month end), "
    "QtrDay:ENGLISH|SCOTTISH|RECEIVED"
)
QUARTER_DAYS = {  # (month, day) of the four quarter days, per the OBIE definition
    "ENGLISH": ((3, 25), (6, 24), (9, 29), (12, 25)),
    "SCOTTISH": ((2, 2), (5, 15), (8, 1), (11, 11)),
    "RECEIVED": ((3, 20), (6, 19), (9, 24), (12, 20)),
}
MAX_STEP_DAYS = 800  # no pattern's next date is further away than 24 months and a few days: a bound on loops


class UnsupportedFrequency(ValueError):
    pass


@dataclass(frozen=True)
class Frequency:
    code: str  # as the partner wrote it, e.g. "IntrvlMnthDay:01:31"
    kind: str  # EvryDay | EvryWorkgDay | IntrvlDay | IntrvlWkDay | WkInMnthDay | IntrvlMnthDay | QtrDay
    interval: int = 1  # days, weeks or months between payments
    day: int = 0  # ISO weekday (1 = Monday) or day of month (negative: from the month end)
    week: int = 0  # week of the month for WkInMnthDay (5 = the last one)
    quarter: str = ""


def parse_frequency(code: str) -> Frequency:
    """The frequency a pattern names; UnsupportedFrequency (with the supported list) for anything else."""
    match = _PATTERN.match(code or "")
    if match is None:
        raise UnsupportedFrequency(f"unsupported Frequency {code!r}; this bank runs {SUPPORTED}")
    g = match.groupdict()
    if g["every_day"]:
        return Frequency(code, "EvryDay")
    if g["every_working_day"]:
        return Frequency(code, "EvryWorkgDay")
    if g["interval_days"]:
        return Frequency(code, "IntrvlDay", interval=int(g["interval_days"]))
    if g["interval_weeks"]:
        return Frequency(code, "IntrvlWkDay", interval=int(g["interval_weeks"]), day=int(g["week_day"]))
    if g["week_in_month"]:
        return Frequency(code, "WkInMnthDay", week=int(g["week_in_month"]), day=int(g["month_week_day"]))
    if g["interval_months"]:
        return Frequency(code, "IntrvlMnthDay", interval=int(g["interval_months"]), day=int(g["month_day"]))
    return Frequency(code, "QtrDay", quarter=g["quarter"])


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def day_in_month(year: int, month: int, day: int) -> date:
    """Day `day` of the month, clamped to its end (31 in February is the 28th/29th); -1 is the last day."""
    last = calendar.monthrange(year, month)[1]
    if day < 0:
        return date(year, month, last + 1 + day)
    return date(year, month, min(day, last))


def _week_in_month(year: int, month: int, week: int, weekday: int) -> date:
    """The `week`-th `weekday` of the month; week 5 is the last one when the month has only four."""
    first = date(year, month, 1)
    first_match = first + timedelta(days=(weekday - first.isoweekday()) % 7)
    candidate = first_match + timedelta(weeks=week - 1)
    while candidate.month != month:  # at most one step back
        candidate -= timedelta(weeks=1)
    return candidate


def next_date(frequency: Frequency, previous: date) -> date:
    """The first date strictly after `previous` on which the frequency pays.

    When `previous` is itself a pattern date, the interval is counted from it; otherwise (a first payment the
    partner put off-pattern) the next pattern date follows."""
    kind = frequency.kind
    if kind == "EvryDay":
        return previous + timedelta(days=1)
    if kind == "EvryWorkgDay":
        candidate = previous + timedelta(days=1)
        while candidate.isoweekday() > 5:
            candidate += timedelta(days=1)
        return candidate
    if kind == "IntrvlDay":
        return previous + timedelta(days=frequency.interval)
    if kind == "IntrvlWkDay":
        if previous.isoweekday() == frequency.day:
            return previous + timedelta(weeks=frequency.interval)
        return previous + timedelta(days=(frequency.day - previous.isoweekday()) % 7)
    if kind == "WkInMnthDay":
        this_month = _week_in_month(previous.year, previous.month, frequency.week, frequency.day)
        if this_month > previous:
            return this_month
        year, month = _add_months(previous.year, previous.month, 1)
        return _week_in_month(year, month, frequency.week, frequency.day)
    if kind == "IntrvlMnthDay":
        this_month = day_in_month(previous.year, previous.month, frequency.day)
        if this_month == previous:
            year, month = _add_months(previous.year, previous.month, frequency.interval)
            return day_in_month(year, month, frequency.day)
        if this_month > previous:
            return this_month
        year, month = _add_months(previous.year, previous.month, 1)
        return day_in_month(year, month, frequency.day)
    assert kind == "QtrDay", kind
    for year in (previous.year, previous.year + 1):
        for month, day in QUARTER_DAYS[frequency.quarter]:
            if date(year, month, day) > previous:
                return date(year, month, day)
    raise AssertionError("unreachable: a quarter day follows within a year")


@dataclass(frozen=True)
class Schedule:
    """A standing order's schedule; amounts in fen."""

    frequency: Frequency
    first_at: datetime  # aware, the bank's time zone
    first_fen: int
    recurring_fen: int
    final_fen: int
    recurring_first_at: datetime | None = None  # RecurringPaymentDateTime: the second payment's date if given
    number_of_payments: int | None = None
    final_at: datetime | None = None  # FinalPaymentDateTime: no payment after this day

    def __post_init__(self) -> None:
        assert self.first_fen > 0 and self.recurring_fen > 0 and self.final_fen > 0
        assert self.number_of_payments is None or self.number_of_payments >= 1
        assert self.final_at is None or self.number_of_payments is None  # one end or the other

    def _on(self, day: date) -> datetime:
        return self.first_at.replace(year=day.year, month=day.month, day=day.day)

    def _raw_next(self, occurrence: int, due_at: datetime) -> datetime:
        if occurrence == 1 and self.recurring_first_at is not None:
            return self.recurring_first_at
        step = next_date(self.frequency, due_at.date())
        assert step > due_at.date() and (step - due_at.date()).days <= MAX_STEP_DAYS
        return self._on(step)

    def following(self, occurrence: int, due_at: datetime) -> datetime | None:
        """When occurrence `occurrence + 1` falls due, given occurrence `occurrence` was due at `due_at`;
        None when the order has ended."""
        assert occurrence >= 1
        if self.number_of_payments is not None and occurrence >= self.number_of_payments:
            return None
        after = self._raw_next(occurrence, due_at)
        assert after > due_at
        if self.final_at is not None and after.date() > self.final_at.date():
            return None
        return after

    def amount_fen(self, occurrence: int, due_at: datetime) -> int:
        """Occurrence 1 pays the first amount, the last (when the order has an end) the final amount."""
        if occurrence == 1 and self.following(1, due_at) is not None:
            return self.first_fen
        has_end = self.number_of_payments is not None or self.final_at is not None
        if has_end and self.following(occurrence, due_at) is None:
            return self.final_fen if occurrence > 1 else self.first_fen
        return self.recurring_fen

    def occurrences(self, limit: int) -> list[tuple[int, datetime, int]]:
        """The first `limit` occurrences as (number, due at, amount in fen): for previews and tests."""
        found: list[tuple[int, datetime, int]] = []
        due_at: datetime | None = self.first_at
        occurrence = 1
        while due_at is not None and occurrence <= limit:
            found.append((occurrence, due_at, self.amount_fen(occurrence, due_at)))
            due_at = self.following(occurrence, due_at)
            occurrence += 1
        return found
