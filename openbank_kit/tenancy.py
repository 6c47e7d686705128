"""Loading a tenant's copy of the synthetic world into one service's database.

The world for a (seed, size, as-of date) is generated once and stored under a *template* tenant id; creating
or resetting a tenant then copies the template's rows server-side (INSERT ... SELECT), which keeps
provisioning well under a second however large the world is. A tenant's history ends at the start of the day
it was provisioned (Asia/Shanghai); a new day gets a new template.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import Table, delete, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from openbank_kit.clock import set_clock_offset, wall_clock
from openbank_kit.db import Database, UtcDateTime

TENANT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
TEMPLATE_PREFIX = "~world-"  # cannot collide with a tenant id: tenant ids match TENANT_NAME
INSERT_BATCH_ROWS = 5000
GENERATOR_VERSION = 2  # bump when sandbox_data changes its output, so stale templates are rebuilt


class WorldTemplate(SQLModel, table=True):
    __tablename__ = "world_template"

    template_id: str = Field(primary_key=True, max_length=64)
    config_json: str
    created_at: datetime = Field(sa_type=UtcDateTime)


@dataclass(frozen=True)
class WorldSpec:
    """What a tenant's world is generated from; travels between services as JSON."""

    seed: int
    as_of: date
    retail_customers: int
    smes: int

    def template_id(self) -> str:
        canonical = json.dumps({**self.to_json(), "generator": GENERATOR_VERSION}, sort_keys=True)
        return TEMPLATE_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def to_json(self) -> dict:
        return {**asdict(self), "as_of": self.as_of.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> WorldSpec:
        return cls(
            seed=int(data["seed"]),
            as_of=date.fromisoformat(data["as_of"]),
            retail_customers=int(data["retail_customers"]),
            smes=int(data["smes"]),
        )


ProgressCallback = Callable[[int, int], None]


_WORLD_CACHE: dict[WorldSpec, object] = {}
_WORLD_CACHE_SIZE = 2  # worlds are tens of MB: keep the current day's and one more
_WORLD_LOCK = threading.Lock()


def generate_world_for(spec: WorldSpec, progress: ProgressCallback | None = None):
    """The generated world, cached per process: every service loaded by one process reuses it."""
    from sandbox_data import WorldConfig, generate_world

    with _WORLD_LOCK:
        if spec not in _WORLD_CACHE:
            config = WorldConfig(
                seed=spec.seed, as_of_date=spec.as_of, retail_customers=spec.retail_customers, smes=spec.smes
            )
            while len(_WORLD_CACHE) >= _WORLD_CACHE_SIZE:
                _WORLD_CACHE.pop(next(iter(_WORLD_CACHE)))
            _WORLD_CACHE[spec] = generate_world(config, progress=progress)
        return _WORLD_CACHE[spec]


@dataclass(frozen=True)
class TenantTables:
    """The tables of one service that hold tenant data."""

    service: str
    world_tables: Sequence[Table]  # filled from the world, in insert order
    runtime_tables: Sequence[Table] = ()  # created by use (consents, payments...), emptied by reset

    def all_tables(self) -> list[Table]:
        return [*self.runtime_tables, *self.world_tables]


def ensure_template(db: Database, tables: TenantTables, spec: WorldSpec) -> str:
    """Make sure this service holds the world for `spec` as a template; build it once if not."""
    template_id = spec.template_id()
    with db.read_session() as session:
        if session.get(WorldTemplate, template_id) is not None:
            return template_id
    world = generate_world_for(spec)
    rows_by_table = world.for_service(tables.service)
    with db.write_session() as session:
        if session.get(WorldTemplate, template_id) is not None:
            return template_id  # another process built it meanwhile
        session.add(
            WorldTemplate(
                template_id=template_id, config_json=json.dumps(spec.to_json()), created_at=wall_clock()
            )
        )
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return template_id
        # Older templates are no longer needed: tenants are copies, not references.
        for old in session.scalars(
            select(WorldTemplate.template_id).where(WorldTemplate.template_id != template_id)
        ):
            _delete_tenant_rows(session, tables, old)
            session.execute(delete(WorldTemplate).where(WorldTemplate.template_id == old))
        for table in tables.world_tables:
            rows = rows_by_table.get(table.name, [])
            for start in range(0, len(rows), INSERT_BATCH_ROWS):
                batch = [{**row, "tenant_id": template_id} for row in rows[start : start + INSERT_BATCH_ROWS]]
                session.execute(insert(table), batch)
        session.commit()
    return template_id


def load_tenant(
    db: Database, tables: TenantTables, tenant_id: str, spec: WorldSpec, clock_offset_s: int = 0
) -> dict:
    """Give `tenant_id` a fresh copy of the world (replacing whatever it had) in one transaction."""
    if not TENANT_NAME.match(tenant_id):
        raise ValueError(f"invalid tenant id {tenant_id!r}")
    template_id = ensure_template(db, tables, spec)
    counts: dict[str, int] = {}
    with db.write_session() as session:
        _delete_tenant_rows(session, tables, tenant_id)
        for table in tables.world_tables:
            columns = [column for column in table.columns if column.name != "tenant_id"]
            source = select(literal(tenant_id).label("tenant_id"), *columns).where(
                table.c.tenant_id == template_id
            )
            result = session.execute(
                insert(table).from_select(["tenant_id", *[c.name for c in columns]], source)
            )
            counts[table.name] = result.rowcount
        set_clock_offset_exact(session, tenant_id, clock_offset_s)
        session.commit()
    return counts


def drop_tenant(db: Database, tables: TenantTables, tenant_id: str) -> None:
    with db.write_session() as session:
        _delete_tenant_rows(session, tables, tenant_id)
        session.commit()


def count_tenant_rows(db: Database, tables: TenantTables, tenant_id: str) -> dict[str, int]:
    with db.read_session() as session:
        return {
            table.name: session.scalar(
                select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
            )
            for table in tables.all_tables()
        }


def set_clock_offset_exact(session: Session, tenant_id: str, offset_s: int) -> None:
    """Reset puts a clock back to the given offset, so this bypasses the forward-only rule on purpose."""
    from openbank_kit.clock import TenantClock

    session.execute(delete(TenantClock).where(TenantClock.tenant_id == tenant_id))
    set_clock_offset(session, tenant_id, offset_s)


def _delete_tenant_rows(session: Session, tables: TenantTables, tenant_id: str) -> None:
    from openbank_kit.clock import TenantClock
    from openbank_kit.idempotency import IdempotencyRecord

    for table in [*tables.all_tables(), IdempotencyRecord.__table__, TenantClock.__table__]:
        session.execute(delete(table).where(table.c.tenant_id == tenant_id))
