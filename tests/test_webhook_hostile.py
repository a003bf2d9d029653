"""Hostile webhook calls, over real HTTP to a real uvicorn: 4xx, never a 500 or a hang."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels import serve
from bot.channels.web import MAX_BODY_BYTES, SECRET_HEADER, create_web_app, telegram_routes
from bot.config import Config
from tests.conftest import KNOWLEDGE
from tests.fake_telegram import FakeBotAPI, free_port

TOKEN = "123456:TEST-token-not-real"
SECRET = "s3cret-Token_1"
HEADERS = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}


class LiveWebhook:
    """The real web app (bot, SQLite, fake Bot API) served by uvicorn in its own thread,
    so that synchronous hypothesis tests can call it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready = threading.Event()
        self.fake: FakeBotAPI | None = None
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.fake = FakeBotAPI()
        await self.fake.start()
        config = Config(
            knowledge_dir=KNOWLEDGE, db_path=str(self.folder / "bot.sqlite3"),
            telegram_token=TOKEN, telegram_api_url=self.fake.url, webhook_secret=SECRET,
        )  # fmt: skip
        asgi = await serve.web_app(config)
        self.server = uvicorn.Server(
            uvicorn.Config(asgi, "127.0.0.1", self.port, log_level="error")
        )
        task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
        self.ready.set()
        await task
        await self.fake.stop()

    def sent_to(self, chat: int) -> int:
        assert self.fake is not None
        return len([c for c in list(self.fake.calls) if str(c.params.get("chat_id")) == str(chat)])

    def __enter__(self) -> LiveWebhook:
        self.thread.start()
        assert self.ready.wait(30), "web app did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWebhook]:
    with LiveWebhook(tmp_path_factory.mktemp("web")) as server:
        yield server


@pytest.fixture(scope="module")
def client(live: LiveWebhook) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers=HEADERS, timeout=10) as http:
        yield http


def message(update_id: int, user: int, **fields: Any) -> dict[str, Any]:
    body = {
        "message_id": update_id, "date": 0, "text": "Shangshan",
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "R", "language_code": "en"},
    }  # fmt: skip
    return {"update_id": update_id, "message": body | fields}


HOSTILE = {
    "deep list": b"[" * 100_000 + b"]" * 100_000,
    "deep object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nested under 1000": json.dumps({"update_id": 1, "x": json.loads("[" * 500 + "]" * 500)}),
    "message is a string": json.dumps({"update_id": 2, "message": "hello"}),
    "huge date": json.dumps(message(3, 77, date=10**30)),
    "negative huge date": json.dumps(message(4, 77, date=-(10**20))),
    "a list": b"[1, 2, 3]",
    "a string": b'"update"',
    "null": b"null",
    "update_id a string": json.dumps({"update_id": "1"}),
    "not utf-8": b"\xff\xfe\xfa",
    "lone surrogate escape": b'{"update_id": 5, "message": {"text": "\\ud800"}}',
    "chat is a list": json.dumps(message(6, 77, chat=[1, 2])),
    "from is a number": json.dumps(message(7, 77, **{"from": 5})),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_body_is_refused_not_a_server_error(client: httpx.Client, name: str) -> None:
    response = client.post("/telegram", content=HOSTILE[name])
    assert response.status_code in (200, 400), (name, response.status_code)


@pytest.mark.parametrize(
    "update",
    [
        message(10, 77, chat={"id": [1], "type": "private"}),
        message(11, 77, message_id="11"),
        message(12, 77, date=True),
        {"update_id": 2**70},
    ],
)
def test_ids_and_dates_must_be_integers(client: httpx.Client, update: dict[str, Any]) -> None:
    assert client.post("/telegram", content=json.dumps(update)).status_code == 400


def test_a_non_string_language_code_still_gets_a_reply(
    client: httpx.Client, live: LiveWebhook
) -> None:
    user = 9001
    update = message(100, user)
    update["message"]["from"]["language_code"] = 42
    assert client.post("/telegram", content=json.dumps(update)).status_code == 200
    deadline = time.monotonic() + 10
    while live.sent_to(user) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.sent_to(user) >= 1


def test_a_declared_oversized_body_is_refused_at_once(client: httpx.Client) -> None:
    response = client.post("/telegram", content=b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413


def test_the_limit_applies_while_reading(live: LiveWebhook) -> None:
    """Chunked, no length: the answer must come before the (never-ending) body does."""
    head = (
        f"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET_HEADER}: {SECRET}\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(head.encode())
        for _ in range(2 * MAX_BODY_BYTES // (64 * 1024)):  # twice the limit, never finished
            sock.sendall(chunk)
        answer = sock.recv(100)
    assert answer.startswith(b"HTTP/1.1 413"), answer


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def odd(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right value, sometimes anything at all."""
    return st.one_of(good, good, JSON)


USERS = st.fixed_dictionaries(
    {"id": odd(st.integers(1, 10**12)), "is_bot": odd(st.booleans()),
     "first_name": odd(st.text(max_size=10))},
    optional={"language_code": odd(st.sampled_from(["en", "zh", "xx", ""]))},
)  # fmt: skip
CHATS = st.fixed_dictionaries({"id": odd(st.integers()), "type": odd(st.just("private"))})
MESSAGES = st.fixed_dictionaries(
    {"message_id": odd(st.integers()), "date": odd(st.integers()), "chat": odd(CHATS),
     "from": odd(USERS)},
    optional={"text": odd(st.text(max_size=40))},
)  # fmt: skip
UPDATES = st.one_of(
    JSON,
    st.fixed_dictionaries({"update_id": odd(st.integers(1, 2**40)), "message": odd(MESSAGES)}),
    st.fixed_dictionaries({"update_id": st.integers(1, 2**40), "callback_query": JSON}),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=UPDATES)
def test_random_payloads_never_cause_a_server_error(client: httpx.Client, payload: Any) -> None:
    response = client.post("/telegram", content=json.dumps(payload))
    assert response.status_code in (200, 400)


async def test_a_failed_start_up_still_releases_what_it_opened() -> None:
    released: list[str] = []

    async def start() -> None:
        raise ConnectionError("Bot API unreachable")

    async def stop() -> None:
        released.append("closed")

    async def feed(update: object) -> None:
        raise AssertionError("no update expected")

    app = create_web_app(telegram_routes(feed, SECRET), start, stop)
    server = uvicorn.Server(uvicorn.Config(app, "127.0.0.1", free_port(), log_level="critical"))
    with pytest.raises(SystemExit):
        await server.serve()
    assert released == ["closed"]
