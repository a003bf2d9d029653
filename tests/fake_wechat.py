"""A fake WeChat Official Account API on 127.0.0.1, spoken to over real HTTP.

It hands out access tokens (counting requests; a token can be expired on demand), records
customer-service messages, menus and uploads, and answers errcodes like the real API,
e.g. 45015 for openids outside the 48-hour window.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fake_telegram import free_port


@dataclass
class FakeWeChatAPI:
    app_id: str = "wx1234567890abcdef"
    secret: str = "app-secret"
    port: int = field(default_factory=free_port)
    token_requests: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)  # type, filename, bytes
    errcodes: dict[str, int] = field(default_factory=dict)  # openid -> errcode for custom/send
    valid_tokens: set[str] = field(default_factory=set)
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        routes = [
            Route("/cgi-bin/token", self._token, methods=["GET"]),
            Route("/cgi-bin/message/custom/send", self._send, methods=["POST"]),
            Route("/cgi-bin/menu/create", self._menu, methods=["POST"]),
            Route("/cgi-bin/media/upload", self._upload, methods=["POST"]),
        ]
        config = uvicorn.Config(
            Starlette(routes=routes), "127.0.0.1", self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task

    def expire_tokens(self) -> None:
        """WeChat invalidates every token (as when another server fetched a new one)."""
        self.valid_tokens.clear()

    def texts(self, openid: str) -> list[str]:
        return [
            m["text"]["content"]
            for m in self.messages
            if m["touser"] == openid and m["msgtype"] == "text"
        ]

    async def wait_messages(self, count: int, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.messages) >= count), timeout
            )

    # the API ------------------------------------------------------------------------

    async def _token(self, request: Request) -> JSONResponse:
        self.token_requests += 1
        query = request.query_params
        if query.get("appid") != self.app_id or query.get("secret") != self.secret:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = f"TOKEN-{next(self._tokens)}"
        self.valid_tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 7200})

    def _token_error(self, request: Request) -> JSONResponse | None:
        token = request.query_params.get("access_token", "")
        if token in self.valid_tokens:
            return None
        return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})

    async def _send(self, request: Request) -> JSONResponse:
        if refused := self._token_error(request):
            return refused
        message = json.loads(await request.body())
        errcode = self.errcodes.get(message["touser"], 0)
        if errcode:
            return JSONResponse({"errcode": errcode, "errmsg": "refused"})
        async with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _menu(self, request: Request) -> JSONResponse:
        if refused := self._token_error(request):
            return refused
        self.menus.append(json.loads(await request.body()))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _upload(self, request: Request) -> JSONResponse:
        if refused := self._token_error(request):
            return refused
        form = await request.form()
        media = form["media"]
        assert not isinstance(media, str)
        kind = request.query_params.get("type", "")
        self.uploads.append((kind, media.filename or "", await media.read()))
        return JSONResponse({"type": kind, "media_id": f"MEDIA-{len(self.uploads)}",
                             "created_at": 1700000000})  # fmt: skip
