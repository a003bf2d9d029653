"""The whole bot on WeChat: `serve.web_app` on uvicorn, signed XML over real HTTP, the real
pipeline on a SQLite file, the runtime's Jobs pushing through the fake API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from bot.app import App
from bot.channels import serve
from bot.channels import wechat_protocol as wp
from bot.channels.wechat import WeChatSender
from bot.channels.wechat_api import WeChatApi
from bot.config import Config
from bot.core.repositories import Outgoing
from bot.core.state import Conversation
from bot.core.types import Attachment, Channel, Reply
from bot.i18n import translator
from bot.rsvp.service import Person
from bot.runtime import Jobs
from tests.fake_telegram import free_port
from tests.fake_wechat import FakeWeChatAPI
from tests.wechat_reference import (
    ACCOUNT,
    ENCODING_AES_KEY,
    TOKEN,
    event_xml,
    ref_decrypt,
    ref_encrypt,
    ref_sign,
    text_xml,
)

ARABIC = ("\u0600", "\u06ff")


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChatAPI]:
    server = FakeWeChatAPI()
    await server.start()
    yield server
    await server.stop()


def wechat_config(app: App, fake: FakeWeChatAPI, safe: bool) -> Config:
    """The test bot's config with the Official Account on, Telegram off."""
    return replace(
        app.config,
        wechat_token=TOKEN,
        wechat_app_id=fake.app_id,
        wechat_app_secret=fake.secret,
        wechat_aes_key=ENCODING_AES_KEY if safe else None,
        wechat_api_url=fake.url,
    )


async def served(asgi: Starlette) -> AsyncIterator[str]:
    """The ASGI app on uvicorn on 127.0.0.1 (lifespan on: the bot and its Jobs start)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, "127.0.0.1", port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@dataclass
class Phone:
    """A WeChat user's side: signed pushes to /wechat, the passive reply read back."""

    http: httpx.AsyncClient
    url: str
    openid: str
    safe: bool
    msg_id: int = 1000

    async def post(self, xml: str) -> httpx.Response:
        ts, nonce = str(int(time.time())), f"n{self.msg_id}"
        query = {"timestamp": ts, "nonce": nonce, "signature": ref_sign(TOKEN, ts, nonce),
                 "openid": self.openid}  # fmt: skip
        body = xml.encode()
        if self.safe:
            encrypted = ref_encrypt(xml)
            query |= {"encrypt_type": "aes", "msg_signature": ref_sign(TOKEN, ts, nonce, encrypted)}
            body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
            body = body.encode()
        return await self.http.post(f"{self.url}/wechat", params=query, content=body)

    def read(self, response: httpx.Response) -> str:
        """The text of a passive reply, decrypted and its signature checked in safe mode."""
        assert response.status_code == 200, response.status_code
        fields = wp.parse_fields(response.content)
        if self.safe:
            encrypted, ts, nonce = fields["Encrypt"], fields["TimeStamp"], fields["Nonce"]
            assert fields["MsgSignature"] == ref_sign(TOKEN, ts, nonce, encrypted)
            fields = wp.parse_fields(ref_decrypt(encrypted).encode())
        assert (fields["ToUserName"], fields["FromUserName"]) == (self.openid, ACCOUNT)
        return fields["Content"]

    async def say(self, text: str) -> str:
        self.msg_id += 1
        return self.read(await self.post(text_xml(self.openid, text, self.msg_id, _now())))

    async def event(self, event: str, key: str | None = None) -> httpx.Response:
        return await self.post(event_xml(self.openid, event, _now(), key))


def _now() -> int:
    return int(time.time())


async def number_of(app: App, openid: str, payload_start: str) -> str:
    """The number to type for the choice whose payload starts so (read from the store)."""
    state = await app.repos.conversations.get(Channel.WECHAT.value, openid)
    return str(next(n for n, p in enumerate(state.choices, 1) if p.startswith(payload_start)))


async def book(app: App, phone: Phone, tour_id: str) -> str:
    """RSVP through the chat alone, typing numbers for the buttons; the last reply."""
    await phone.say("/tours")
    said = await phone.say(await number_of(app, phone.openid, f"rsvp:v1:{tour_id}:join"))
    for _ in range(12):
        state = await app.repos.conversations.get(Channel.WECHAT.value, phone.openid)
        if state.form is None:
            return said
        step = state.form.step
        typed = {"name": "Amina Mwangi", "outlet": "TBC Taifa", "role": "reporter"}
        said = await phone.say("1" if step in ("contact", "consent") else typed.get(step, "no"))
    raise AssertionError("the RSVP form never ended")


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_the_scripted_conversation_over_wechat(
    app: App, fake: FakeWeChatAPI, safe: bool
) -> None:
    asgi = await serve.web_app(wechat_config(app, fake, safe))
    async for url in served(asgi):
        async with httpx.AsyncClient(timeout=15) as http:
            me = Phone(http, url, "o-reporter", safe)
            await script(app, fake, me, Phone(http, url, "o-waiting", safe, msg_id=9000))


async def script(app: App, fake: FakeWeChatAPI, me: Phone, other: Phone) -> None:
    """Ask, follow up, pick a numbered option, switch language, RSVP and cancel (a WeChat
    user on the waitlist is told through the outbox), subscribe, unfollow."""
    overview = await me.say("c'est quoi le site de Shangshan ?")
    assert overview.startswith("Parc") or "Shangshan" in overview
    hours = await me.say("et les horaires ?")
    assert hours != overview and "  1. " in hours
    number = await number_of(app, me.openid, "topic:v1:shangshan-site:getting_there")
    directions = await me.say(number)
    assert directions not in (overview, hours) and "uri.amap.com" in directions

    choices = await me.say("langue")
    assert "  5. العربية" in choices and "  8. Kiswahili" in choices
    switched = await me.say("5")
    assert any(ARABIC[0] <= ch <= ARABIC[1] for ch in switched)
    answer = await me.say("Where is Yiwu market?")
    assert any(ARABIC[0] <= ch <= ARABIC[1] for ch in answer)  # the saved choice wins
    assert await me.say("/language en")

    tour = min(app.rsvp.tours.values(), key=lambda t: t.capacity)
    for n in range(tour.capacity - 1):
        await app.rsvp.request(tour.id, Person("telegram", str(n), str(n), "en", "S", "O"))
    booked = await book(app, me, tour.id)
    assert f"📎 {tour.id}.ics" in booked
    assert translator("en").gettext(wp.NO_FILES) in booked  # named, not silently dropped
    assert await other.say("Habari")  # the waiting reporter wrote within 48 hours
    person = Person("wechat", other.openid, other.openid, "sw", "Juma", "TBC")
    assert (await app.rsvp.request(tour.id, person)).status == "waitlisted"
    await me.say("/mytours")
    cancelled = await me.say(await number_of(app, me.openid, f"rsvp:v1:{tour.id}:cancel"))
    assert cancelled == translator("en").gettext("Your booking is cancelled.")
    await fake.wait_messages(1, timeout=10)  # the outbox, through the customer-service API
    [notice] = fake.texts(other.openid)
    good_news = "Good news: a seat is free and you are now confirmed for %(tour)s."
    assert notice.startswith(translator("sw").gettext(good_news)[:20])
    assert translator("sw").gettext(wp.NO_FILES) in notice  # the calendar, named
    assert fake.texts(me.openid) == []  # everything the reporter got came passively

    assert await me.say("/subscribe") == translator("en").gettext(
        "Subscribed: you will receive the centre's announcements."
    )
    assert await app.repos.subscribers.count() == 1
    response = await me.event("unsubscribe")
    assert (response.status_code, response.text) == (200, "success")
    assert await app.repos.subscribers.count() == 0


async def test_a_retry_reaching_another_process_is_answered_once(
    app: App, fake: FakeWeChatAPI
) -> None:
    """Two web processes on one database: WeChat's retry of a push gets "success"."""
    config = wechat_config(app, fake, safe=False)
    first, second = await serve.web_app(config), await serve.web_app(config)
    async for one in served(first):
        async for other in served(second):
            async with httpx.AsyncClient(timeout=15) as http:
                push = text_xml("o-1", "Where is Yiwu market?", 77, _now())
                answer = await Phone(http, one, "o-1", False).post(push)
                retries = [await Phone(http, url, "o-1", False).post(push) for url in (other, one)]
    assert "Yiwu" in Phone(http, one, "o-1", False).read(answer)
    assert [(r.status_code, r.text) for r in retries] == [(200, "success"), (200, "success")]


async def test_one_web_server_serves_telegram_and_wechat(app: App, fake: FakeWeChatAPI) -> None:
    from tests.fake_telegram import FakeBotAPI

    telegram = FakeBotAPI()
    await telegram.start()
    config = replace(wechat_config(app, fake, safe=False), telegram_token="1:T",
                     telegram_api_url=telegram.url, webhook_secret="s3cret")  # fmt: skip
    async for url in served(await serve.web_app(config)):
        async with httpx.AsyncClient(timeout=15) as http:
            ts, nonce = "1714036504", "1514711492"
            query = {"timestamp": ts, "nonce": nonce, "echostr": "42",
                     "signature": ref_sign(TOKEN, ts, nonce)}  # fmt: skip
            assert (await http.get(f"{url}/wechat", params=query)).text == "42"
            assert (await http.post(f"{url}/telegram", content=b"{}")).status_code == 403
            assert (await http.get(f"{url}/healthz")).status_code == 200
    await telegram.stop()


async def test_pushes_to_someone_silent_for_48_hours_are_outside_the_window(
    app: App, fake: FakeWeChatAPI
) -> None:
    """Checked before sending from the conversation's last message; and WeChat's 45015."""
    now = time.time()
    for openid, silent_hours in (("o-recent", 1), ("o-gone", 49)):
        state = Conversation(Channel.WECHAT.value, openid, updated_at=now - silent_hours * 3600)
        await app.repos.conversations.save(state)
    fake.errcodes["o-unknown"] = 45015  # no conversation here: WeChat decides
    api = WeChatApi(fake.app_id, fake.secret, base_url=fake.url)
    people = serve._WeChatPeople(app)
    jobs = Jobs(app, {Channel.WECHAT: WeChatSender(api, people.last_seen)})
    reminder = Reply("Rappel : départ demain à 8 h.", "fr")
    await app.repos.outbox.enqueue(
        [
            Outgoing(Channel.WECHAT, o, reminder, "reminder", f"r-{o}", o)
            for o in ("o-recent", "o-gone", "o-unknown")
        ]
    )
    assert await jobs.worker.run_once() == 3
    await api.close()
    counts = await app.repos.outbox.counts()
    assert counts.get("sent") == 1 and counts.get("outside_window") == 2
    assert [m["touser"] for m in fake.messages] == ["o-recent"]
    assert await jobs.worker.run_once() == 0  # never retried


async def test_a_picture_in_a_passive_turn_follows_as_an_image(fake: FakeWeChatAPI) -> None:
    from bot.channels.wechat import WeChatChannel, WeChatConfig

    async def handle(msg: object) -> list[Reply]:
        return [Reply("Map", "en", attachment=Attachment("map.png", b"\x89PNG", "image/png"))]

    api = WeChatApi(fake.app_id, fake.secret, base_url=fake.url)
    channel = WeChatChannel(WeChatConfig(TOKEN, fake.app_id), api, handle)
    async for url in served(Starlette(routes=channel.routes())):
        async with httpx.AsyncClient(timeout=15) as http:
            phone = Phone(http, url, "o-1", False)
            text = await phone.say("map please")
    await channel.drain()
    await api.close()
    assert text == "Map\n\n📎 map.png"
    assert fake.uploads[0][:2] == ("image", "map.png")
    assert fake.messages == [
        {"touser": "o-1", "msgtype": "image", "image": {"media_id": "MEDIA-1"}}
    ]


@pytest.mark.parametrize("word", ["language", "语言", "langue", "idioma", "لغة", "язык", "lugha",
                                  "Língua", "Language?"])  # fmt: skip
async def test_the_word_language_alone_shows_the_choices(app: App, word: str) -> None:
    from bot.core.types import Incoming

    [reply] = await app.handle(Incoming(Channel.WECHAT, "o-1", "o-1", word))
    assert [b.payload for b in reply.buttons][:2] == ["lang:v1:en", "lang:v1:zh"]
    assert "  8. Kiswahili" in wp.render(reply)
    [in_a_sentence] = await app.handle(Incoming(Channel.WECHAT, "o-2", "o-2", f"{word} school"))
    assert not in_a_sentence.buttons or in_a_sentence.buttons[0].payload != "lang:v1:en"


async def test_a_turn_numbers_only_the_choices_that_typing_a_number_presses() -> None:
    from bot.core.types import Button

    first = Reply("Directions", "en", buttons=(Button("Hours", "topic:v1:a:hours"),))
    last = Reply("Pick one", "en", buttons=(Button("A", "x:v1:a"), Button("B", "x:v1:b")))
    text = wp.render_turn([first, last])
    assert "  • Hours" in text and text.endswith("  1. A\n  2. B")


def test_a_malformed_aes_key_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot.cli import main

    monkeypatch.setenv("WECHAT_TOKEN", TOKEN)
    monkeypatch.setenv("WECHAT_APP_ID", "wx1")
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.sqlite3"))
    for bad in ("short", "!" * 43, ENCODING_AES_KEY[:-1] + "="):
        monkeypatch.setenv("WECHAT_AES_KEY", bad)
        assert main(["run", "--webhook"]) == 2
        assert "WECHAT_AES_KEY" in capsys.readouterr().err
    monkeypatch.setenv("WECHAT_AES_KEY", ENCODING_AES_KEY)
    assert Config.from_env().wechat_aes_key == ENCODING_AES_KEY


@pytest.fixture
def menu_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeWeChatAPI) -> None:
    from tests.conftest import KNOWLEDGE

    env = {"BOT_DB": str(tmp_path / "bot.sqlite3"), "BOT_KNOWLEDGE_DIR": str(KNOWLEDGE),
           "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": fake.app_id,
           "WECHAT_APP_SECRET": fake.secret, "WECHAT_API_URL": fake.url}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)


async def test_the_menu_is_printed_or_published_within_wechats_limits(
    menu_env: None, fake: FakeWeChatAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bot.cli import main

    assert await asyncio.to_thread(main, ["wechat", "menu", "--dry-run", "--lang", "zh"]) == 0
    printed = json.loads(capsys.readouterr().out)
    top = printed["button"]
    assert 1 <= len(top) <= 3 and all(len(b.get("sub_button", [])) <= 5 for b in top)
    routes = translator("zh").gettext("interview routes")
    assert top[0] == {"type": "click", "name": routes, "key": "/routes"}
    assert fake.menus == [] and fake.token_requests == 0  # a dry run sends nothing
    assert await asyncio.to_thread(main, ["wechat", "menu", "--lang", "zh"]) == 0
    assert fake.menus == [printed] and fake.token_requests == 1


async def test_staff_commands_work_on_wechat_for_listed_openids(app: App, tmp_path: Path) -> None:
    from bot.app import build_app
    from bot.core.types import Incoming

    config = replace(app.config, staff_ids=frozenset({"wechat:o-staff"}))
    staffed = await build_app(config, app.knowledge)
    tour = next(iter(staffed.rsvp.tours))
    try:
        [export] = await staffed.handle(Incoming(Channel.WECHAT, "o-staff", "o-staff",
                                                 f"/export {tour}"))  # fmt: skip
        [refused] = await staffed.handle(Incoming(Channel.WECHAT, "o-else", "o-else",
                                                  f"/export {tour}"))  # fmt: skip
    finally:
        await staffed.close()
    assert export.attachment is not None and export.attachment.filename.endswith(".csv")
    assert f"📎 {tour}-rsvps.csv\n" + translator("en").gettext(wp.NO_FILES) in wp.render(export)
    assert refused.text == translator("en").gettext(
        "Sorry, this command is for the centre's staff only."
    )
