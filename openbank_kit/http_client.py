"""Service-to-service HTTP: explicit timeouts and pool limits, bounded retries only where a retry is safe.

A call is retried only when repeating it cannot do the work twice: idempotent methods, or a POST that
carries an x-idempotency-key the server deduplicates on. Retries happen on connection errors, timeouts
and 502/503/504 only; any other status is the server's answer and is returned as is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from openbank_kit.interaction import INTERACTION_HEADER, current_interaction_id

IDEMPOTENCY_HEADER = "x-idempotency-key"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUS_CODES = frozenset({502, 503, 504})
MAX_RETRIES_LIMIT = 10
MAX_BACKOFF_S = 2.0
# Sized for one process talking to one service; the gateway's thread pool is 40 threads.
POOL_MAX_CONNECTIONS = 50
POOL_MAX_KEEPALIVE_CONNECTIONS = 20
POOL_KEEPALIVE_EXPIRY_S = 30.0


class ServiceCallError(Exception):
    """The service could not be reached or kept failing after every allowed attempt."""

    def __init__(
        self, service_url: str, reason: str, *, attempts: int = 1, response: httpx.Response | None = None
    ) -> None:
        self.service_url = service_url
        self.reason = reason
        self.attempts = attempts
        self.response = response  # the last 502/503/504, when there was one
        super().__init__(f"call to {service_url} failed after {attempts} attempt(s): {reason}")


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        max_retries: int = 2,
        backoff_s: float = 0.05,
        token_provider: Callable[[], str] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if not 0 <= max_retries <= MAX_RETRIES_LIMIT:
            raise ValueError(f"max_retries must be between 0 and {MAX_RETRIES_LIMIT}")
        if timeout_s <= 0 or connect_timeout_s <= 0 or backoff_s < 0:
            raise ValueError("timeouts must be positive and backoff_s not negative")
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.token_provider = token_provider
        self.timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._owns_client = client is None
        if client is None:
            client = httpx.Client(
                base_url=base_url,
                timeout=self.timeout,
                limits=httpx.Limits(
                    max_connections=POOL_MAX_CONNECTIONS,
                    max_keepalive_connections=POOL_MAX_KEEPALIVE_CONNECTIONS,
                    keepalive_expiry=POOL_KEEPALIVE_EXPIRY_S,
                ),
                follow_redirects=False,
                # Internal calls never go through an HTTP(S)_PROXY from the environment.
                trust_env=False,
            )
        self._client = client
        self.service_url = base_url if self._owns_client else str(client.base_url)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        method = method.upper()
        retry_is_safe = method in IDEMPOTENT_METHODS or (method == "POST" and idempotency_key is not None)
        attempts_allowed = 1 + (self.max_retries if retry_is_safe else 0)
        reason = "no attempt made"
        last_response: httpx.Response | None = None
        for attempt in range(attempts_allowed):
            if attempt:
                time.sleep(min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            try:
                response = self._client.request(
                    method,
                    path,
                    json=json,
                    headers=self._headers(headers, idempotency_key),
                )  # timeouts are set on the client this class builds; an injected client keeps its own
            except httpx.TransportError as exc:  # connect errors, timeouts, broken connections
                reason = f"{method} {path}: {type(exc).__name__}: {exc}".rstrip(": ")
                if not retry_is_safe:
                    reason += " (not retried: the request may or may not have been applied)"
                last_response = None
                continue
            if retry_is_safe and response.status_code in RETRY_STATUS_CODES:
                reason = f"{method} {path}: HTTP {response.status_code}"
                last_response = response
                continue
            return response
        raise ServiceCallError(self.service_url, reason, attempts=attempts_allowed, response=last_response)

    def _headers(self, extra: dict[str, str] | None, idempotency_key: str | None) -> httpx.Headers:
        headers = httpx.Headers(extra or {})
        if self.token_provider is not None and "authorization" not in headers:
            # Asked per attempt: a retry after a token expiry picks up the fresh token.
            headers["Authorization"] = f"Bearer {self.token_provider()}"
        interaction_id = current_interaction_id()
        if interaction_id and INTERACTION_HEADER not in headers:
            headers[INTERACTION_HEADER] = interaction_id
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        return headers

    def get(self, path: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, headers=headers)

    def put(
        self,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        return self.request("PUT", path, json=json, headers=headers, idempotency_key=idempotency_key)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        return self.request("POST", path, json=json, headers=headers, idempotency_key=idempotency_key)

    def delete(
        self, path: str, *, headers: dict[str, str] | None = None, idempotency_key: str | None = None
    ) -> httpx.Response:
        return self.request("DELETE", path, headers=headers, idempotency_key=idempotency_key)

    def close(self) -> None:
        # A client passed in (a TestClient) belongs to the caller, who closes it.
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def internal_client(settings, service: str, token: str, client: httpx.Client | None = None) -> ServiceClient:
    """A process's client for another service's internal API: its URL and timeout from settings, the internal token."""
    return ServiceClient(
        settings.url_of(service),
        timeout_s=settings.internal_timeout_s,
        token_provider=lambda: token,
        client=client,
    )
