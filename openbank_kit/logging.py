"""One JSON object per line on stderr, for structlog and stdlib (uvicorn) alike, plus a request log.

Every line has `timestamp` (ISO 8601 UTC), `level`, `service`, `event`, and `interaction_id` /
`tenant_id` when the current request (or job) has them.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbank_kit.interaction import current_interaction_id, current_tenant_id

_state: dict[str, str | None] = {"service": None}
# Marks the handler we installed, so a second call replaces it instead of doubling every line.
_HANDLER_FLAG = "_openbank_log_handler"
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _add_context(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    if _state["service"]:
        event_dict.setdefault("service", _state["service"])
    interaction_id = current_interaction_id()
    if interaction_id:
        event_dict.setdefault("interaction_id", interaction_id)
    tenant_id = current_tenant_id()
    if tenant_id:
        event_dict.setdefault("tenant_id", tenant_id)
    return event_dict


def configure_logging(
    service_name: str, level: str = "INFO", json: bool = True, *, stream: TextIO | None = None
) -> None:
    """Idempotent: calling it again (tests, a second app in one process) replaces the previous setup."""
    _state["service"] = service_name
    level_number = logging.getLevelName(level.upper())
    if not isinstance(level_number, int):
        raise ValueError(f"unknown log level {level!r}")

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_context,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Safe to cache: this chain never changes (service is read from _state; output goes via the handler).
        cache_logger_on_first_use=True,
    )
    output = stream or sys.stderr
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=getattr(output, "isatty", lambda: False)())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_FLAG, True)

    root = logging.getLogger()
    # Only our own handler is replaced: others (pytest's caplog) stay.
    for existing in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level_number)
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(level_number)
    # RequestLogMiddleware already logs each request, with the interaction id uvicorn's access log lacks.
    logging.getLogger("uvicorn.access").setLevel(max(level_number, logging.WARNING))


class RequestLogMiddleware:
    """Pure ASGI: one line per HTTP request with method, path, status and duration_ms."""

    def __init__(self, app: ASGIApp, logger_name: str = "openbank.request") -> None:
        self.app = app
        self.logger = structlog.get_logger(logger_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_s = time.perf_counter()
        status: int | None = None

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            # No response started means the app raised: ServerErrorMiddleware will answer 500.
            final_status = status if status is not None else 500
            log = self.logger.warning if final_status >= 500 else self.logger.info
            # The query string is left out: it can carry authorization codes and other secrets.
            log(
                "http_request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=final_status,
                duration_ms=round((time.perf_counter() - started_s) * 1000, 2),
            )
