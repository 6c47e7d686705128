"""Payments signs event SETs with its own key; the gateway's jwks_uri publishes it next to the gateway's keys.

Fetched from payments' GET /internal/v1/event-signing-keys and cached RELOAD_S (like keys.py): an unreachable
payments service leaves the last keys seen (or none) and never breaks the JWKS."""

from __future__ import annotations

import threading
import time

import structlog

from gateway.oauth.keys import RELOAD_S
from openbank_kit.http_client import ServiceCallError, ServiceClient

RETRY_S = 10.0
logger = structlog.get_logger("openbank.gateway.event_keys")


class EventKeys:
    def __init__(self, payments: ServiceClient):
        self.payments = payments
        self._lock = threading.Lock()
        self._keys: list[dict] = []
        self._loaded_at: float | None = None

    def keys(self) -> list[dict]:
        with self._lock:
            if self._loaded_at is None or time.monotonic() - self._loaded_at > RELOAD_S:
                try:
                    response = self.payments.get("/internal/v1/event-signing-keys")
                    if response.status_code != 200:
                        raise ServiceCallError("payments", f"HTTP {response.status_code}")
                    self._keys = response.json()["keys"]
                    self._loaded_at = time.monotonic()
                except ServiceCallError as exc:
                    logger.warning("event_signing_keys_unavailable", reason=exc.reason)
                    # ask again in RETRY_S, not on every JWKS request while payments is down
                    self._loaded_at = time.monotonic() - RELOAD_S + RETRY_S
            return list(self._keys)
