"""One web process for every webhook: Telegram's, room for WeChat's, and a health check."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000  # Telegram updates are a few kB; refuse anything absurd

Feed = Callable[[object], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


def create_web_app(
    telegram_feed: Feed,
    telegram_secret: str,
    on_startup: Hook,
    on_shutdown: Hook,
) -> Starlette:
    """The ASGI app: POST /telegram (secret checked), GET /healthz."""

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), telegram_secret.encode()):
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response(status_code=413)
        try:
            await telegram_feed(json.loads(body))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("rejected a malformed webhook update: %s", exc)
            return Response(status_code=400)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await on_startup()
        except BaseException:
            # uvicorn exits without a shutdown after a failed start-up: release what was
            # opened (the database thread would keep the process alive) before it does.
            await on_shutdown()
            raise
        try:
            yield
        finally:
            await on_shutdown()

    routes = [
        Route("/telegram", telegram, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
