"""A service's latency-critical routes, served straight from a pure ASGI middleware.

They are ordinary FastAPI routes too (the API reference shows them, tests may call them either way), but a request
for one is answered here, inside the interaction-id and request-log middleware and past FastAPI's router, its
request wrappers and its exception middleware: those cost about 10% of a credit decision's CPU in loans (callgrind).
Their errors get the same answers as through FastAPI: the app's own exception handlers, looked up the same way.
A hot route takes the Starlette `Request` only, and reads what it needs itself (`openbank_kit.deps.parsed_body`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]


class HotRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[tuple[str, str, Handler]] = ()) -> None:
        self.app = app
        self.routes = [(method, compile_path(path)[0], handler) for method, path, handler in routes]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for method, pattern, handler in self.routes:
                if scope["method"] == method and (match := pattern.match(scope["path"])):
                    scope["path_params"] = match.groupdict()
                    request = Request(scope, receive)
                    try:
                        response = await handler(request)
                    except Exception as exc:
                        response = await self._answer_for(request, exc)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer_for(self, request: Request, exc: Exception) -> Response:
        """The app's handler for this exception (most specific class first, as Starlette picks them); none: re-raise,
        so the server-error middleware answers as for any other route."""
        handlers = request.app.exception_handlers
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                return await handler(request, exc)
        raise exc
