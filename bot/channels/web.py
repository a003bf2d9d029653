"""One web process for every webhook: each channel contributes its routes; plus /healthz."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000  # Telegram updates are a few kB; refuse anything absurd

Feed = Callable[[object], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


def telegram_routes(feed: Feed, secret: str) -> list[BaseRoute]:
    """POST /telegram: the secret header checked, the update queued."""

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response(status_code=413)
        try:
            await feed(json.loads(body))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("rejected a malformed webhook update: %s", type(exc).__name__)
            return Response(status_code=400)
        return Response(status_code=200)

    return [Route("/telegram", telegram, methods=["POST"])]


def create_web_app(routes: Sequence[BaseRoute], on_startup: Hook, on_shutdown: Hook) -> Starlette:
    """The ASGI app: every channel's routes and GET /healthz."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await on_startup()
        try:
            yield
        finally:
            await on_shutdown()

    return Starlette(
        routes=[*routes, Route("/healthz", healthz, methods=["GET"])], lifespan=lifespan
    )
