"""Per-tenant sandbox clocks.

Business code never calls `datetime.now()`: it asks `tenant_now(session, tenant_id)`. A tenant's clock is the
wall clock plus a forward-only offset that the gateway owns and pushes to every service (`set_clock_offset`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Column, bindparam, select
from sqlmodel import Field, Session, SQLModel

from openbank_kit.db import UtcDateTime

BANK_TIMEZONE = ZoneInfo("Asia/Shanghai")
MAX_ADVANCE_DAYS = 3660  # bound on one clock move: ten years


class TenantClock(SQLModel, table=True):
    __tablename__ = "tenant_clock"

    tenant_id: str = Field(primary_key=True, max_length=64)
    offset_s: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    updated_at: datetime = Field(sa_type=UtcDateTime)


# Built once (bound parameter): every request of every service reads its tenant's clock.
_OFFSET = select(TenantClock.__table__.c.offset_s).where(
    TenantClock.__table__.c.tenant_id == bindparam("tenant_id")
)


def wall_clock() -> datetime:
    """The real time; only clocks (and logs) read it."""
    return datetime.now(UTC)


def clock_now(offset_s: int, *, wall: datetime | None = None) -> datetime:
    """The sandbox time for a clock offset, in the bank's time zone (what goes on the wire)."""
    return ((wall or wall_clock()) + timedelta(seconds=offset_s)).astimezone(BANK_TIMEZONE)


def clock_offset(session: Session, tenant_id: str) -> int:
    # A Core read, not session.get: every request of every service asks, and the ORM's identity-map load costs
    # several times the statement itself.
    offset = session.execute(_OFFSET, {"tenant_id": tenant_id}).scalar()
    return offset or 0


def tenant_now(session: Session, tenant_id: str) -> datetime:
    """Now, for tenant `tenant_id`."""
    return clock_now(clock_offset(session, tenant_id))


def tenant_today(session: Session, tenant_id: str) -> date:
    return tenant_now(session, tenant_id).date()


def set_clock_offset(session: Session, tenant_id: str, offset_s: int) -> None:
    """Record a tenant's clock offset (the caller commits). Clocks only move forward."""
    if offset_s < 0:
        raise ValueError("a sandbox clock offset cannot be negative")
    clock = session.get(TenantClock, tenant_id)
    if clock is None:
        clock = TenantClock(tenant_id=tenant_id, offset_s=offset_s, updated_at=wall_clock())
    elif offset_s < clock.offset_s:
        raise ValueError("a sandbox clock only moves forward")
    clock.offset_s = offset_s
    clock.updated_at = wall_clock()
    session.add(clock)
    session.flush()  # clock_offset reads with Core: later reads in this transaction see the new offset


class ClockMoved(Exception):
    """The tenant's clock offset was not the one guessed (`SeenOffsets`): what was sent rolls back, and the work
    starts over at `offset_s`."""

    def __init__(self, offset_s: int) -> None:
        self.offset_s = offset_s


class SeenOffsets:
    """Each tenant's clock offset as this process last read it: an async path's guess of `now` before its first
    batch, which reads the offset again under the same transaction and starts over when the guess was wrong."""

    CAPACITY = 10_000  # tenants remembered; past it, the map starts again (a wrong guess costs one retry)

    def __init__(self) -> None:
        self._offsets: dict[str, int] = {}

    def get(self, tenant_id: str) -> int:
        return self._offsets.get(tenant_id, 0)

    def learn(self, tenant_id: str, offset_s: int) -> None:
        if len(self._offsets) >= self.CAPACITY:
            self._offsets.clear()
        self._offsets[tenant_id] = offset_s
