"""The WeChat channel over real HTTP: signed XML pushes in, passive XML or the API out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from bot.channels import wechat_protocol as wp
from bot.channels.wechat import NO_LOCATIONS, NOT_TEXT, WeChatChannel, WeChatConfig
from bot.channels.wechat_api import WeChatApi
from bot.core.types import Attachment, Button, Channel, Incoming, Reply
from tests.fake_telegram import free_port
from tests.fake_wechat import FakeWeChatAPI
from tests.test_wechat_protocol import BILLION_LAUGHS, EXTERNAL_ENTITY
from tests.wechat_reference import (
    ACCOUNT,
    APP_ID,
    ENCODING_AES_KEY,
    TOKEN,
    event_xml,
    location_xml,
    media_xml,
    ref_decrypt,
    ref_encrypt,
    ref_sign,
    text_xml,
)


@dataclass
class Bot:
    """A small fake core: echoes, can be slow, records what it was given."""

    delay: float = 0.0
    seen: list[Incoming] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    unsubscribed: list[str] = field(default_factory=list)

    async def handle(self, msg: Incoming) -> list[Reply]:
        if msg.update_key in self.keys:  # as the pipeline drops a repeated delivery id
            return []
        self.keys.add(msg.update_key or "")
        self.seen.append(msg)
        await asyncio.sleep(self.delay)
        said = msg.payload or msg.text
        buttons = (Button("Yes", "rsvp:v1:t:join"), Button("No", "rsvp:v1:t:quit"))
        return [Reply(f"echo: {said}", "en", buttons=buttons)]

    async def on_unsubscribe(self, openid: str) -> None:
        self.unsubscribed.append(openid)


@dataclass
class Rig:
    url: str
    bot: Bot
    fake: FakeWeChatAPI
    channel: WeChatChannel
    http: httpx.AsyncClient

    async def post(
        self, xml: str | bytes, timestamp: int | None = None, sign: bool = True, safe: bool = False
    ) -> httpx.Response:
        ts, nonce = str(timestamp or int(time.time())), "nonce42"
        query = {"timestamp": ts, "nonce": nonce, "openid": "o-1"}
        query["signature"] = ref_sign(TOKEN, ts, nonce) if sign else "0" * 40
        body = xml.encode() if isinstance(xml, str) else xml
        if safe:
            encrypted = ref_encrypt(body.decode())
            query |= {"encrypt_type": "aes", "msg_signature": ref_sign(TOKEN, ts, nonce, encrypted)}
            body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
            body = body.encode()
        return await self.http.post(f"{self.url}/wechat", params=query, content=body)


async def start_rig(bot: Bot, aes_key: str | None = None) -> AsyncIterator[Rig]:
    fake = FakeWeChatAPI()
    await fake.start()
    api = WeChatApi(fake.app_id, fake.secret, base_url=fake.url)
    config = WeChatConfig(TOKEN, APP_ID, aes_key)
    channel = WeChatChannel(config, api, bot.handle, bot.on_unsubscribe)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=channel.routes()), "127.0.0.1", port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(timeout=15) as http:
        yield Rig(f"http://127.0.0.1:{port}", bot, fake, channel, http)
    await channel.drain()
    server.should_exit = True
    await task
    await api.close()
    await fake.stop()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async for r in start_rig(Bot()):
        yield r


@pytest.fixture
async def safe_rig() -> AsyncIterator[Rig]:
    async for r in start_rig(Bot(), ENCODING_AES_KEY):
        yield r


def content(response: httpx.Response) -> str:
    assert response.status_code == 200
    fields = wp.parse_fields(response.content)
    assert (fields["ToUserName"], fields["FromUserName"]) == ("o-1", ACCOUNT)
    return fields["Content"]


async def test_url_check_echoes_only_when_signed(rig: Rig) -> None:
    ts, nonce = "1714036504", "1514711492"
    query = {"timestamp": ts, "nonce": nonce, "echostr": "4375120948345356249"}
    good = await rig.http.get(
        f"{rig.url}/wechat", params={**query, "signature": ref_sign(TOKEN, ts, nonce)}
    )
    assert (good.status_code, good.text) == (200, "4375120948345356249")
    bad = await rig.http.get(f"{rig.url}/wechat", params={**query, "signature": "0" * 40})
    assert bad.status_code == 403


async def test_text_gets_a_passive_reply_with_numbered_buttons(rig: Rig) -> None:
    text = content(await rig.post(text_xml("o-1", "hello <&>", 1, int(time.time()))))
    assert text.startswith("echo: hello <&>") and "  1. Yes\n  2. No" in text
    assert rig.bot.seen[0] == Incoming(
        Channel.WECHAT, "o-1", "o-1", "hello <&>", None, "1", update_key="1"
    )
    assert rig.fake.messages == []


async def test_a_slow_turn_answers_success_then_through_the_api() -> None:
    async for rig in start_rig(Bot(delay=5.0)):
        started = time.perf_counter()
        response = await rig.post(text_xml("o-1", "slow one", 9, int(time.time())))
        assert (response.status_code, response.text) == (200, "success")
        assert time.perf_counter() - started < 5.0
        await rig.fake.wait_messages(1, timeout=10)
        assert rig.fake.texts("o-1")[0].startswith("echo: slow one")
        assert rig.channel.stats.fell_back == 1


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (event_xml("o-1", "subscribe", 100), "/start"),
        (event_xml("o-1", "subscribe", 101, "qrscene_tour_spring"), "/start tour_spring"),
        (event_xml("o-1", "CLICK", 102, "/tours"), "/tours"),
        (event_xml("o-1", "CLICK", 103, "menu:v1:route"), "menu:v1:route"),
    ],
)
async def test_events_become_commands_or_presses(rig: Rig, xml: str, expected: str) -> None:
    text = content(await rig.post(xml))
    assert text.startswith(f"echo: {expected}")
    seen = rig.bot.seen[0]
    assert (seen.payload or seen.text) == expected
    assert (seen.payload is not None) == expected.startswith("menu:")


async def test_unsubscribe_and_view_need_no_answer(rig: Rig) -> None:
    for xml in (event_xml("o-1", "unsubscribe", 200), event_xml("o-1", "VIEW", 201, "https://x")):
        response = await rig.post(xml)
        assert (response.status_code, response.text) == (200, "success")
    assert rig.bot.unsubscribed == ["o-1"] and rig.bot.seen == []


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (location_xml("o-1", 31, 1), NO_LOCATIONS),
        (media_xml("o-1", "image", 32, 1, "<PicUrl>http://x/p.jpg</PicUrl>"), NOT_TEXT),
        (media_xml("o-1", "voice", 33, 1, "<Format>amr</Format>"), NOT_TEXT),
        (media_xml("o-1", "video", 34, 1, "<ThumbMediaId>t</ThumbMediaId>"), NOT_TEXT),
    ],
)
async def test_other_kinds_get_a_polite_answer(rig: Rig, xml: str, expected: str) -> None:
    xml = xml.replace("<CreateTime>1</CreateTime>", f"<CreateTime>{int(time.time())}</CreateTime>")
    assert content(await rig.post(xml)) == expected
    assert rig.bot.seen == []


async def test_a_transcribed_voice_message_is_read(rig: Rig) -> None:
    xml = media_xml("o-1", "voice", 35, 1, "<Recognition><![CDATA[hours]]></Recognition>")
    assert content(await rig.post(xml)).startswith("echo: hours")


async def test_unsigned_stale_or_oversized_pushes_are_refused(rig: Rig) -> None:
    xml = text_xml("o-1", "hi", 40, int(time.time()))
    assert (await rig.post(xml, sign=False)).status_code == 403
    assert (await rig.post(xml, timestamp=int(time.time()) - 301)).status_code == 403
    assert (await rig.post(b"<xml>" + b"x" * 200_000 + b"</xml>")).status_code == 413
    assert rig.bot.seen == [] and rig.channel.stats.refused == 3


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<xml><Content>", b"{}"])
async def test_bombs_and_malformed_xml_get_400(rig: Rig, body: bytes) -> None:
    assert (await rig.post(body)).status_code == 400
    assert rig.bot.seen == []


async def test_wechat_retries_are_handled_once(rig: Rig) -> None:
    xml = text_xml("o-1", "once", 50, int(time.time()))
    first = await rig.post(xml)
    again = [await rig.post(xml) for _ in range(2)]
    assert content(first).startswith("echo: once")
    assert [r.text for r in again] == ["success", "success"]
    assert len(rig.bot.seen) == 1 and rig.channel.stats.silent == 2


async def test_safe_mode_round_trip(safe_rig: Rig) -> None:
    response = await safe_rig.post(text_xml("o-1", "加密 hello", 60, int(time.time())), safe=True)
    assert response.status_code == 200
    envelope = wp.parse_fields(response.content)
    encrypted, ts, nonce = envelope["Encrypt"], envelope["TimeStamp"], envelope["Nonce"]
    assert envelope["MsgSignature"] == ref_sign(TOKEN, ts, nonce, encrypted)
    inner = wp.parse_fields(ref_decrypt(encrypted).encode())
    assert inner["Content"].startswith("echo: 加密 hello") and inner["ToUserName"] == "o-1"


async def test_safe_mode_refuses_a_wrong_msg_signature_or_plain_body(safe_rig: Rig) -> None:
    ts = int(time.time())
    plain = await safe_rig.post(text_xml("o-1", "plain", 61, ts))
    assert plain.status_code == 400
    xml = text_xml("o-1", "tampered", 62, ts)
    response = await safe_rig.http.post(
        f"{safe_rig.url}/wechat",
        params={"timestamp": str(ts), "nonce": "n", "signature": ref_sign(TOKEN, str(ts), "n"),
                "encrypt_type": "aes", "msg_signature": "0" * 40},
        content=f"<xml><Encrypt>{ref_encrypt(xml)}</Encrypt></xml>".encode(),
    )  # fmt: skip
    assert response.status_code == 400 and safe_rig.bot.seen == []


async def test_a_long_answer_continues_through_the_api(rig: Rig) -> None:
    long = "Wuzhou Ancient City opens at nine. " * 120  # about 4 kB
    text = content(await rig.post(text_xml("o-1", long, 70, int(time.time()))))
    assert len(text.encode()) <= wp.TEXT_LIMIT_BYTES
    await rig.fake.wait_messages(1)
    rest = rig.fake.texts("o-1")
    assert all(len(t.encode()) <= wp.TEXT_LIMIT_BYTES for t in rest)
    assert " ".join([text, *rest]).startswith("echo: Wuzhou")


async def test_the_outbox_sender_splits_maps_errcodes_and_sends_pictures(rig: Rig) -> None:
    sender = rig.channel.sender
    long = Reply("Reminder. " * 400, "en", buttons=(Button("Cancel", "rsvp:v1:t:cancel"),))
    assert (await sender.send("o-1", long)).status.value == "sent"
    texts = rig.fake.texts("o-1")
    assert len(texts) == 2 and texts[-1].endswith("  • Cancel")  # "1" presses a turn's only
    rig.fake.errcodes["o-late"] = 45015
    assert (await sender.send("o-late", long)).status.value == "outside_window"
    picture = Reply("Map", "en", attachment=Attachment("map.png", b"\x89PNG", "image/png"))
    assert (await sender.send("o-1", picture)).status.value == "sent"
    assert rig.fake.uploads[0][:2] == ("image", "map.png")
    assert rig.fake.messages[-1]["image"] == {"media_id": "MEDIA-1"}
