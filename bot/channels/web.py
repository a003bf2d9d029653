"""One web process for every webhook: Telegram's, room for WeChat's, and a health check."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000  # Telegram updates are a few kB; refuse anything absurd
MAX_DEPTH = 32  # a real update nests about 6 deep (reply → message → chat → …)
# Fields our reply path reads as text: any other type is dropped, not trusted.
TEXT_FIELDS = frozenset({"language_code", "text", "caption", "data"})
# Integers in every Bot API object; "id" only of people and chats (a callback's id is text).
INTEGER_FIELDS = frozenset({"update_id", "message_id", "date"})
PERSON_KEYS = frozenset({"from", "chat", "user", "sender_chat"})

Feed = Callable[[object], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


class Rejected(Exception):
    """A webhook body we refuse, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        """The reason (for the log) and the status."""
        super().__init__(reason)
        self.status = status


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read as it arrives and abandoned as soon as it passes the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, "declared body over the limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, "body over the limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_update(body: bytes) -> dict[str, Any]:
    """A JSON object with an integer update_id, shallow, with text fields as text."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Rejected(400, f"not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise Rejected(400, "not an update object")
    if depth(data) > MAX_DEPTH:
        raise Rejected(400, "nested too deep")
    check_integers(data)
    drop_mistyped_text(data)
    return data


def depth(value: object) -> int:
    """How deep dicts and lists nest, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def check_integers(update: dict[str, Any]) -> None:
    """Reject ids and dates that are not integers: the SDK would fail on them later."""
    stack: list[tuple[str, object]] = [("", update)]
    while stack:
        parent, item = stack.pop()
        if isinstance(item, list):
            stack.extend((parent, child) for child in item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if _must_be_integer(parent, key) and not _is_integer(value):
                    raise Rejected(400, f"{key} is not an integer")
                stack.append((key, value))


def _must_be_integer(parent: str, key: str) -> bool:
    """Whether the Bot API defines this field as an integer."""
    return key in INTEGER_FIELDS or (key == "id" and parent in PERSON_KEYS)


def _is_integer(value: object) -> bool:
    """A JSON integer in the Bot API's 64-bit range (bool is not one)."""
    return type(value) is int and abs(value) < 2**63


def drop_mistyped_text(value: object) -> None:
    """Remove, at any depth, text fields (language_code, text …) that are not strings."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in [k for k in item if k in TEXT_FIELDS and not isinstance(item[k], str)]:
                del item[key]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def create_web_app(routes: Sequence[BaseRoute], on_startup: Hook, on_shutdown: Hook) -> Starlette:
    """The ASGI app: every channel's routes and GET /healthz."""

    async def healthz(request: Request) -> Response:
        """Liveness for the proxy or orchestrator."""
        return JSONResponse({"status": "ok"})

    every = [*routes, Route("/healthz", healthz, methods=["GET"])]
    return Starlette(routes=every, lifespan=lifespan(on_startup, on_shutdown))


def telegram_routes(feed: Feed, secret: str) -> list[BaseRoute]:
    """The Telegram channel's contribution: POST /telegram."""
    return [Route("/telegram", telegram_endpoint(feed, secret), methods=["POST"])]


def telegram_endpoint(feed: Feed, secret: str) -> Callable[[Request], Awaitable[Response]]:
    """POST /telegram: 403 without the secret, 413 over the limit, 400 if not an update."""

    async def telegram(request: Request) -> Response:
        """Check, read, parse and queue one update."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return Response(status_code=403)
        try:
            await feed(parse_update(await read_limited(request)))
        except Rejected as exc:
            log.warning("rejected a webhook call: %s", exc)
            return Response(status_code=exc.status)
        except Exception as exc:  # the SDK's parser on a well-formed but odd update
            log.warning("rejected an update the SDK could not read: %s", type(exc).__name__)
            return Response(status_code=400)
        return Response(status_code=200)

    return telegram


def lifespan(
    on_startup: Hook, on_shutdown: Hook
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Start-up and shut-down hooks; a failed start-up still runs the shut-down."""

    @asynccontextmanager
    async def span(app: Starlette) -> AsyncIterator[None]:
        """Run the hooks around the server's life."""
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

    return span
