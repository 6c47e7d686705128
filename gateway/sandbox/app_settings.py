"""Per-app sandbox switches (docs/sandbox-api.md): fault toggles and a lower rate limit, read by the front door.

The front door reads them on every proxied call, so they are cached briefly per process; a change made through
this process is seen at once, another gateway process sees it within APP_SETTINGS_CACHE_TTL_S.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from gateway.models import AppSetting
from gateway.proxy.rate_limit import DEFAULT_RATE_PER_S
from openbank_kit.db import Database
from openbank_kit.errors import FieldInvalid
from openbank_kit.faults import KNOWN_FAULTS, MAX_FAULTS_PER_APP

APP_SETTINGS_CACHE_TTL_S = 5.0
APP_SETTINGS_CACHE_MAX = 10_000


@dataclass(frozen=True)
class AppSwitches:
    faults: tuple[str, ...] = ()
    rate_limit_per_s: int | None = None


NO_SWITCHES = AppSwitches()


def check_faults(faults: list[str]) -> list[str]:
    """Exactly the documented names (openbank_kit/faults.py), each once, order kept."""
    if len(faults) > MAX_FAULTS_PER_APP:
        raise FieldInvalid("Faults", f"at most {MAX_FAULTS_PER_APP} faults")
    picked: list[str] = []
    for index, name in enumerate(faults):
        if name not in KNOWN_FAULTS:
            raise FieldInvalid(
                f"Faults[{index}]", f"unknown fault {name!r}; known: {', '.join(KNOWN_FAULTS)}"
            )
        if name not in picked:
            picked.append(name)
    return picked


def check_rate(rate_per_s: int) -> int:
    if not 1 <= rate_per_s <= DEFAULT_RATE_PER_S:
        raise FieldInvalid("RequestsPerSecond", f"RequestsPerSecond must be from 1 to {DEFAULT_RATE_PER_S}")
    return rate_per_s


@dataclass
class AppSettingsStore:
    db: Database
    _cache: dict[str, tuple[float, AppSwitches]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def switches(self, tenant_id: str, client_id: str) -> AppSwitches:
        key = f"{tenant_id}:{client_id}"
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.db.read_session() as session:
            row = session.get(AppSetting, (tenant_id, client_id))
        switches = NO_SWITCHES if row is None else AppSwitches(tuple(row.faults), row.rate_limit_per_s)
        with self._lock:
            if len(self._cache) >= APP_SETTINGS_CACHE_MAX:
                self._cache.clear()  # bounded; an evicted entry is simply read again
            self._cache[key] = (now + APP_SETTINGS_CACHE_TTL_S, switches)
        return switches

    def set_faults(self, tenant_id: str, client_id: str, faults: list[str]) -> AppSwitches:
        checked = check_faults(faults)
        return self._update(tenant_id, client_id, lambda row: setattr(row, "faults", checked))

    def set_rate_limit(self, tenant_id: str, client_id: str, rate_per_s: int) -> AppSwitches:
        checked = check_rate(rate_per_s)
        return self._update(tenant_id, client_id, lambda row: setattr(row, "rate_limit_per_s", checked))

    def _update(self, tenant_id: str, client_id: str, change) -> AppSwitches:
        for attempt in range(
            2
        ):  # two first writes racing: the loser's insert fails, it updates the winner's row
            with self.db.write_session() as session:
                row = session.get(AppSetting, (tenant_id, client_id), with_for_update=True)
                if row is None:
                    row = AppSetting(tenant_id=tenant_id, client_id=client_id, faults=[],
                                     updated_at=datetime.now(UTC))  # fmt: skip
                change(row)
                row.faults = list(row.faults)  # a fresh list: the JSON column notices the change
                row.updated_at = datetime.now(UTC)
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    if attempt:
                        raise
                    continue
                switches = AppSwitches(tuple(row.faults), row.rate_limit_per_s)
                break
        with self._lock:
            self._cache.pop(f"{tenant_id}:{client_id}", None)
        return switches
