"""The WeChat API client against the fake API over real HTTP: token, sends, menu, media."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.wechat_api import (
    MemoryTokenCache,
    MenuButton,
    MenuError,
    WeChatApi,
    menu_from_commands,
    menu_problems,
)
from bot.core.delivery import SENT, Delivery
from bot.storage import Database, SqliteTokenCache
from tests.fake_wechat import FakeWeChatAPI


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChatAPI]:
    server = FakeWeChatAPI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def api(fake: FakeWeChatAPI) -> AsyncIterator[WeChatApi]:
    client = WeChatApi(fake.app_id, fake.secret, base_url=fake.url)
    yield client
    await client.close()


async def test_token_is_fetched_once_and_cached(fake: FakeWeChatAPI, api: WeChatApi) -> None:
    assert await api.send_text("o-1", "你好") == SENT
    assert await api.send_text("o-1", "again") == SENT
    assert fake.token_requests == 1
    assert fake.texts("o-1") == ["你好", "again"]


async def test_a_refused_token_is_refreshed_once(fake: FakeWeChatAPI, api: WeChatApi) -> None:
    assert await api.send_text("o-1", "one") == SENT
    fake.expire_tokens()
    assert await api.send_text("o-1", "two") == SENT
    assert fake.token_requests == 2
    fake.secret = "rotated"  # now no new token can be had: the send fails, no loop
    fake.expire_tokens()
    result = await api.send_text("o-1", "three")
    assert result.status == Delivery.FAILED and fake.token_requests == 3


async def test_a_token_near_expiry_is_renewed(fake: FakeWeChatAPI) -> None:
    now = [1_000_000.0]
    cache = MemoryTokenCache()
    api = WeChatApi(fake.app_id, fake.secret, cache, fake.url, clock=lambda: now[0])
    await api.send_text("o-1", "a")
    now[0] += 7200 - 60  # inside the safety margin
    await api.send_text("o-1", "b")
    assert fake.token_requests == 2
    await api.close()


@pytest.mark.parametrize(
    ("errcode", "status"),
    [(45015, Delivery.OUTSIDE_WINDOW), (43004, Delivery.BLOCKED), (40003, Delivery.BLOCKED),
     (45047, Delivery.RETRY), (-1, Delivery.RETRY), (48001, Delivery.FAILED)],
)  # fmt: skip
async def test_errcodes_map_to_delivery(
    fake: FakeWeChatAPI, api: WeChatApi, errcode: int, status: Delivery
) -> None:
    fake.errcodes["o-late"] = errcode
    result = await api.send_text("o-late", "reminder")
    assert result.status == status and str(errcode) in result.reason
    assert (result.retry_after > 0) == (status == Delivery.RETRY)
    assert fake.messages == []


async def test_the_store_shares_the_token_between_processes_and_restarts(
    fake: FakeWeChatAPI, tmp_path: Path
) -> None:
    path = tmp_path / "bot.sqlite3"
    first_db, second_db = await Database.open(path), await Database.open(path)  # two processes
    first = WeChatApi(fake.app_id, fake.secret, SqliteTokenCache(first_db, fake.app_id), fake.url)
    second = WeChatApi(fake.app_id, fake.secret, SqliteTokenCache(second_db, fake.app_id), fake.url)
    assert await first.send_text("o-1", "a") == SENT
    assert await second.send_text("o-1", "b") == SENT
    for client, db in ((first, first_db), (second, second_db)):
        await client.close()
        await db.close()
    restarted_db = await Database.open(path)
    restarted = WeChatApi(
        fake.app_id, fake.secret, SqliteTokenCache(restarted_db, fake.app_id), fake.url
    )
    assert await restarted.send_text("o-1", "c") == SENT
    await restarted.close()
    await restarted_db.close()
    assert fake.token_requests == 1 and fake.texts("o-1") == ["a", "b", "c"]


async def test_menu_limits_are_checked_before_any_call(fake: FakeWeChatAPI, api: WeChatApi) -> None:
    four = [MenuButton(f"B{i}", key=f"/k{i}") for i in range(4)]
    crowded = [MenuButton("More", sub=tuple(MenuButton(f"S{i}", key="/s") for i in range(6)))]
    long_name = [MenuButton("Interview routes!", key="/routes")]  # 17 bytes
    for menu in (four, crowded, long_name, [MenuButton("No action")]):
        with pytest.raises(MenuError):
            await api.create_menu(menu)
    assert fake.menus == [] and fake.token_requests == 0
    await api.create_menu([MenuButton("采访路线", key="/routes")])
    assert fake.menus == [{"button": [{"type": "click", "name": "采访路线", "key": "/routes"}]}]


def test_a_menu_from_the_commands_fits() -> None:
    commands = [("start", "welcome"), ("routes", "interview routes"), ("events", "events"),
                ("tours", "media tours and RSVPs"), ("plan", "plan a day"), ("help", "help"),
                ("language", "language"), ("mytours", "bookings")]  # fmt: skip
    menu = menu_from_commands(commands, lambda s: s)
    assert menu_problems(menu) == []
    assert [b.name for b in menu] == ["Interview routes", "/tours", "☰"]
    assert [b.key for b in menu[2].sub] == ["/start", "/events", "/plan", "/help", "/language"]


async def test_media_upload(fake: FakeWeChatAPI, api: WeChatApi) -> None:
    media_id = await api.upload_media("image", "map.png", b"\x89PNG", "image/png")
    assert media_id == "MEDIA-1" and fake.uploads == [("image", "map.png", b"\x89PNG")]
    assert await api.send_image("o-1", media_id) == SENT
    assert fake.messages[-1]["image"] == {"media_id": "MEDIA-1"}
