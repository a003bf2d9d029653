"""A fake Telegram Bot API server on 127.0.0.1, spoken to over real HTTP.

It queues updates for getUpdates, records every call the bot makes, answers like the real
API (same JSON shapes), and can be told to answer 429 Too Many Requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "JHICC",
    "username": "jhicc_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeBotAPI:
    def __init__(self, first_update_id: int = 1) -> None:
        # Fakes standing for one bot's traffic split between processes number their updates
        # apart, as Telegram's update ids are unique per bot.
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: list[Call] = []
        self.counts: Counter[tuple[str, str]] = Counter()  # (method, chat id) -> calls
        self._reply_waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}
        self.updates: list[dict[str, Any]] = []
        self.pushed_at: dict[int, float] = {}
        self.failures: dict[str, list[int]] = {}  # method -> retry_after seconds, one per call
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._changed = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    # lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["POST", "GET"])]
        )
        config = uvicorn.Config(app, "127.0.0.1", self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        self._new_update.set()
        await self._task

    # what tests do ----------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        update_id = update.setdefault("update_id", next(self._update_ids))
        self.updates.append(update)
        self.pushed_at[update_id] = time.perf_counter()
        self._new_update.set()
        return int(update_id)

    def push_text(self, user_id: int, text: str, lang: str | None = "en") -> int:
        return self.push({"message": self._message(user_id, text, lang)})

    def push_callback(self, user_id: int, data: str, lang: str | None = "en") -> int:
        query = {
            "id": f"cb{next(self._message_ids)}",
            "from": self._user(user_id, lang),
            "chat_instance": "1",
            "data": data,
            "message": self._message(user_id, "(buttons)", lang, from_bot=True),
        }
        return self.push({"callback_query": query})

    def fail_next(self, method: str, retry_after: int = 1) -> None:
        self.failures.setdefault(method, []).append(retry_after)

    def count(self, chat_id: int, method: str = "sendMessage") -> int:
        return self.counts[(method, str(chat_id))]

    async def wait_reply(self, chat_id: int, count: int, timeout: float = 30.0) -> None:
        """Wait until `count` messages have been sent to one chat (cheap under load)."""
        chat = str(chat_id)
        if self.counts[("sendMessage", chat)] >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reply_waiters.setdefault(chat, []).append((count, future))
        await asyncio.wait_for(future, timeout)

    def _wake_reply_waiters(self, chat: str) -> None:
        sent = self.counts[("sendMessage", chat)]
        waiting = self._reply_waiters.get(chat, [])
        for _, future in [w for w in waiting if w[0] <= sent]:
            if not future.done():
                future.set_result(None)
        self._reply_waiters[chat] = [w for w in waiting if w[0] > sent]

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until the bot's calls satisfy `predicate`; TimeoutError if they never do."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError("the bot did not do what was expected in time") from None

    # the API ----------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = await self._params(request)
        if method != "getUpdates":
            call = Call(method, params)
            self.calls.append(call)
            chat = str(params.get("chat_id"))
            self.counts[(method, chat)] += 1
            if method == "sendMessage":
                self._wake_reply_waiters(chat)
            async with self._changed:
                self._changed.notify_all()
        pending = self.failures.get(method)
        if pending:
            wait = pending.pop(0)
            description = f"Too Many Requests: retry after {wait}"
            body = {"ok": False, "error_code": 429, "description": description,
                    "parameters": {"retry_after": wait}}  # fmt: skip
            return JSONResponse(body, status_code=429)
        handler = getattr(self, f"_api_{method}", None)
        result = await handler(params) if handler else True
        return JSONResponse({"ok": True, "result": result})

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(await request.json())
        form = await request.form()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = {"filename": value.filename, "content": await value.read()}
        return params

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), float(params.get("timeout") or 0) or 0.05
                )
        return self.updates[: int(params.get("limit") or 100)]

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._sent_message(params, {"text": params.get("text", "")})

    async def _api_sendVenue(self, params: dict[str, Any]) -> dict[str, Any]:
        venue = {
            "location": {"latitude": params["latitude"], "longitude": params["longitude"]},
            "title": params["title"],
            "address": params["address"],
        }
        return self._sent_message(params, {"venue": venue, "location": venue["location"]})

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = {"file_id": "doc1", "file_unique_id": "doc1u", "file_name": "file"}
        return self._sent_message(params, {"document": document})

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._sent_message(params, {"text": params.get("text", "")})

    # shapes -------------------------------------------------------------------------

    def _sent_message(self, params: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": int(params["chat_id"]), "type": "private"}
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": BOT_USER, **extra}  # fmt: skip

    @staticmethod
    def _user(user_id: int, lang: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if lang:
            user["language_code"] = lang
        return user

    def _message(
        self, user_id: int, text: str, lang: str | None, from_bot: bool = False
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": BOT_USER if from_bot else self._user(user_id, lang),
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if text:
            message["text"] = text
        return message
