"""Service-to-service HTTP: explicit timeouts and pool limits, bounded retries only where a retry is safe.

A call is retried only when repeating it cannot do the work twice: idempotent methods, or a POST that
carries an x-idempotency-key the server deduplicates on. Retries happen on connection errors, timeouts
and 502/503/504 only; any other status is the server's answer and is returned as is.

A client's own connections are a urllib3 pool: it costs about half of httpx's client per call, and the decision
and payment paths make one such call each. Tests hand in their in-process httpx clients instead.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import anyio
import httpx
import urllib3

from openbank_kit.interaction import INTERACTION_HEADER, current_interaction_id

IDEMPOTENCY_HEADER = "x-idempotency-key"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUS_CODES = frozenset({502, 503, 504})
MAX_RETRIES_LIMIT = 10
MAX_BACKOFF_S = 2.0
# Connections kept open to one service (a process's thread pool is 40 threads; a burst opens more, then closes them).
POOL_MAX_KEEPALIVE_CONNECTIONS = 20
POOL_KEEPALIVE_S = 4.0  # under uvicorn's 5 s keep-alive: the client lets an idle connection go first


class ServiceResponse(Protocol):
    """What callers read of an answer: an httpx.Response (in-process clients) or a PooledResponse."""

    status_code: int
    content: bytes

    @property
    def headers(self) -> Any: ...

    @property
    def text(self) -> str: ...

    @property
    def is_success(self) -> bool: ...

    def json(self) -> Any: ...


class PooledResponse:
    """An answer read whole from a pooled connection; headers are case-insensitive (urllib3's HTTPHeaderDict)."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Any, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class ServiceCallError(Exception):
    """The service could not be reached or kept failing after every allowed attempt."""

    def __init__(
        self, service_url: str, reason: str, *, attempts: int = 1, response: ServiceResponse | None = None
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
        self.timeout = urllib3.Timeout(connect=connect_timeout_s, read=timeout_s)
        self._owns_client = client is None
        self._client = client
        self._pool: urllib3.HTTPConnectionPool | None = None
        self._async_session: aiohttp.ClientSession | None = None
        self._async_session_loop: asyncio.AbstractEventLoop | None = None
        if client is None:
            # Explicit limits; no proxy from the environment (urllib3 reads none); no retries of its own.
            self._pool = urllib3.connection_from_url(
                base_url,
                maxsize=POOL_MAX_KEEPALIVE_CONNECTIONS,
                block=False,  # a burst beyond the pool opens extra connections rather than queueing
                timeout=self.timeout,
                retries=False,
            )
        self.service_url = base_url if self._owns_client else str(client.base_url)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceResponse:
        method = method.upper()
        retry_is_safe = method in IDEMPOTENT_METHODS or (method == "POST" and idempotency_key is not None)
        attempts_allowed = 1 + (self.max_retries if retry_is_safe else 0)
        reason = "no attempt made"
        last_response: ServiceResponse | None = None
        body = None if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        for attempt in range(attempts_allowed):
            if attempt:
                time.sleep(min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            try:
                response = self._send(method, path, body, self._headers(headers, idempotency_key, body))
            except (httpx.TransportError, urllib3.exceptions.HTTPError) as exc:  # connect errors, timeouts, …
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

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceResponse:
        """`request` for async routes, with the same retry rules: on the event loop through aiohttp's connections
        (made in the running loop), or, for an injected (test) client, the sync call in a worker thread."""
        if self._pool is None:
            call = partial(
                self.request, method, path, json=json, headers=headers, idempotency_key=idempotency_key
            )
            return await anyio.to_thread.run_sync(call)
        method = method.upper()
        retry_is_safe = method in IDEMPOTENT_METHODS or (method == "POST" and idempotency_key is not None)
        attempts_allowed = 1 + (self.max_retries if retry_is_safe else 0)
        reason = "no attempt made"
        last_response: ServiceResponse | None = None
        body = None if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        session = self._aiohttp_session()
        for attempt in range(attempts_allowed):
            if attempt:
                await anyio.sleep(min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            try:
                async with session.request(
                    method, self.service_url + path, data=body, headers=self._headers(headers, idempotency_key, body),
                    allow_redirects=False,
                ) as answer:  # fmt: skip
                    response = PooledResponse(answer.status, answer.headers, await answer.read())
            except (aiohttp.ClientError, TimeoutError) as exc:  # connect errors, timeouts, broken connections
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

    async def aget(self, path: str, *, headers: dict[str, str] | None = None) -> ServiceResponse:
        return await self.arequest("GET", path, headers=headers)

    def _aiohttp_session(self) -> aiohttp.ClientSession:
        """One session per event loop (a session belongs to the loop it was made in)."""
        loop = asyncio.get_running_loop()
        if self._async_session is None or self._async_session_loop is not loop or self._async_session.closed:
            connector = aiohttp.TCPConnector(limit=POOL_MAX_KEEPALIVE_CONNECTIONS, limit_per_host=0,
                                             keepalive_timeout=POOL_KEEPALIVE_S)  # fmt: skip
            timeout = aiohttp.ClientTimeout(
                total=None, connect=self.timeout.connect_timeout, sock_read=self.timeout.read_timeout
            )
            # No proxy from the environment (trust_env is False by default); no cookies between calls.
            self._async_session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
            )
            self._async_session_loop = loop
        return self._async_session

    async def aclose(self) -> None:
        """Close the aiohttp connections (from the loop that made them: the app's lifespan)."""
        if self._async_session is not None and not self._async_session.closed:
            await self._async_session.close()
        self._async_session = None

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> ServiceResponse:
        if self._pool is None:  # an injected client keeps its own timeouts
            return self._client.request(method, path, content=body, headers=headers)
        answer = self._pool.urlopen(method, path, body=body, headers=headers, retries=False, redirect=False,
                                    preload_content=True)  # fmt: skip
        return PooledResponse(answer.status, answer.headers, answer.data)

    def _headers(self, extra: dict[str, str] | None, idempotency_key: str | None, body: bytes | None) -> dict:
        headers = {name.lower(): value for name, value in (extra or {}).items()}
        if self.token_provider is not None and "authorization" not in headers:
            # Asked per attempt: a retry after a token expiry picks up the fresh token.
            headers["authorization"] = f"Bearer {self.token_provider()}"
        interaction_id = current_interaction_id()
        if interaction_id and INTERACTION_HEADER not in headers:
            headers[INTERACTION_HEADER] = interaction_id
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        if body is not None:
            headers["content-type"] = "application/json"
        return headers

    def get(self, path: str, *, headers: dict[str, str] | None = None) -> ServiceResponse:
        return self.request("GET", path, headers=headers)

    def put(
        self,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceResponse:
        return self.request("PUT", path, json=json, headers=headers, idempotency_key=idempotency_key)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceResponse:
        return self.request("POST", path, json=json, headers=headers, idempotency_key=idempotency_key)

    def delete(
        self, path: str, *, headers: dict[str, str] | None = None, idempotency_key: str | None = None
    ) -> ServiceResponse:
        return self.request("DELETE", path, headers=headers, idempotency_key=idempotency_key)

    def close(self) -> None:
        # A client passed in (a TestClient) belongs to the caller, who closes it.
        if self._pool is not None:
            self._pool.close()

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
