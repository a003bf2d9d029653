"""The bot on Telegram: real python-telegram-bot, real HTTP, a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from bot.app import App
from bot.channels import serve
from bot.channels.telegram import MAX_TEXT, TelegramBot, escaped_chunks, keyboard, split_text
from bot.core.types import Button, Channel
from bot.i18n import translator
from bot.knowledge.model import LANGUAGES
from bot.runtime import Jobs
from tests.fake_telegram import FakeBotAPI, free_port

TOKEN = "123456:TEST-token-not-real"
USER = 1001


@pytest.fixture
async def live(app: App, fake: FakeBotAPI) -> AsyncIterator[FakeBotAPI]:
    """The bot long-polling the fake server."""
    telegram = TelegramBot(TOKEN, app.handle, app.dispatcher.public_commands(), fake.url)
    jobs = Jobs(app, {Channel.TELEGRAM: telegram.sender})  # as the runtime starts them
    await telegram.start()
    jobs.start()
    yield fake
    await jobs.stop()
    await telegram.stop()


def texts(fake: FakeBotAPI, chat: int = USER) -> list[str]:
    return [c.params["text"] for c in fake.sent("sendMessage", chat)]


async def next_text(fake: FakeBotAPI, before: int, chat: int = USER) -> str:
    await fake.wait_for(lambda: len(texts(fake, chat)) > before)
    return texts(fake, chat)[before]


def buttons(call_params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = call_params.get("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def test_start_greets_in_the_app_language_and_menus_are_translated(live: FakeBotAPI) -> None:
    live.push_text(USER, "/start", lang="fr")
    greeting = await next_text(live, 0)
    welcome = (
        "Hello! I am the assistant of the Jinhua International Communication Center. Ask me "
        "about interview routes, events and practical matters in Jinhua, in your own language."
    )
    assert greeting.startswith(translator("fr").gettext(welcome))
    assert [p for _, p in buttons(live.sent()[-1].params)] == [
        "menu:v1:route", "menu:v1:event", "menu:v1:faq", "sub:v1:yes",  # subscribe, offered once
    ]  # fmt: skip
    menus = {
        c.params.get("language_code"): c.params["commands"] for c in live.sent("setMyCommands")
    }
    assert set(menus) == {None, *LANGUAGES}
    for lang in LANGUAGES:
        names = [c["command"] for c in menus[lang]]
        assert "help" in names and "reload" not in names  # staff commands stay off the menu
    assert menus["fr"][0]["description"] != menus["en"][0]["description"]


async def test_a_whole_conversation(live: FakeBotAPI) -> None:
    live.push_text(USER, "c'est quoi le site de Shangshan ?", lang="fr")
    overview = await next_text(live, 0)
    assert overview.startswith("Parc") or "Shangshan" in overview

    live.push_text(USER, "et les horaires ?", lang="fr")
    hours = await next_text(live, 1)
    press = dict((p, label) for label, p in buttons(live.sent()[-1].params))
    assert "topic:v1:shangshan-site:getting_there" in press
    assert hours != overview

    live.push_callback(USER, "topic:v1:shangshan-site:getting_there", lang="fr")
    directions = await next_text(live, 2)
    assert directions not in (overview, hours)
    await live.wait_for(lambda: bool(live.sent("answerCallbackQuery")))
    await live.wait_for(lambda: bool(live.sent("sendVenue", USER)))
    venue = live.sent("sendVenue", USER)[0].params
    assert (round(venue["latitude"], 2), round(venue["longitude"], 2)) == (29.46, 119.97)

    live.push_callback(USER, "lang:v1:ar", lang="fr")
    switched = await next_text(live, 3)
    assert any("\u0600" <= ch <= "\u06ff" for ch in switched)
    live.push_text(USER, "Where is Yiwu market?", lang="fr")
    answer = await next_text(live, 4)
    assert any("\u0600" <= ch <= "\u06ff" for ch in answer)  # the choice beats the app language


async def test_staff_command_is_refused_politely_to_others(live: FakeBotAPI) -> None:
    live.push_text(777, "/reload", lang="es")
    refusal = await next_text(live, 0, chat=777)
    assert refusal == translator("es").gettext(
        "Sorry, this command is for the centre's staff only."
    )


async def test_too_many_requests_is_retried_after_the_wait(live: FakeBotAPI) -> None:
    live.fail_next("sendMessage", retry_after=1)
    live.push_text(USER, "Shangshan")
    await live.wait_for(lambda: len(live.sent("sendMessage", USER)) >= 2, timeout=15)
    first, second = live.sent("sendMessage", USER)[:2]
    assert first.params["text"] == second.params["text"]
    assert second.at - first.at >= 0.9


async def test_a_flood_is_slowed_without_delaying_others(live: FakeBotAPI) -> None:
    for number in range(25):
        live.push_text(USER, f"Shangshan {number}")
    live.push_text(2002, "Yiwu market")
    await live.wait_for(lambda: bool(texts(live, 2002)))
    await live.wait_for(lambda: len(texts(live, USER)) >= 21)
    await asyncio.sleep(0.3)
    flood = translator("en").gettext(
        "You are sending messages very fast. Please wait a few seconds."
    )
    assert texts(live, USER).count(flood) == 1
    assert len(texts(live, USER)) == 21


async def test_hostile_input_never_raises(
    live: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(5)
    hostile = [
        "".join(chr(rng.choice([rng.randint(1, 0xD7FF), rng.randint(0xE000, 0x2FFFF)]))
                for _ in range(300)),
        "x" * 10_000,
        "/definitely_not_a_command arg",
        "/start " + "A" * 300,
        "<b>bold</b> & <script>",
    ]  # fmt: skip
    caplog.set_level(logging.ERROR)
    for text in hostile:
        live.push_text(USER, text)
    live.push_callback(USER, "topic:v1:" + "z" * 200)
    live.push_callback(USER, "rsvp:v9:forged")
    sticker = {"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
               "is_animated": False, "is_video": False, "type": "regular"}  # fmt: skip
    sender = {"id": USER, "is_bot": False, "first_name": "S"}
    chat = {"id": USER, "type": "private"}
    live.push(
        {"message": {"message_id": 1, "date": 0, "chat": chat, "from": sender, "sticker": sticker}}
    )
    live.push(
        {
            "channel_post": {
                "message_id": 2,
                "date": 0,
                "chat": {"id": -5, "type": "channel"},
                "text": "hi",
            }
        }
    )
    live.push_text(USER, "Where is Yiwu market?")
    await live.wait_for(lambda: any("Yiwu" in t for t in texts(live)[-2:]), timeout=15)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("&lt;b&gt;" in t or "/definitely_not_a_command" in t for t in texts(live))
    assert len(live.sent("answerCallbackQuery")) == 2


def test_split_keeps_every_piece_under_the_limit_after_escaping() -> None:
    text = ("<&> " * 3000) + "\n\n" + ("word " * 2000)
    pieces = escaped_chunks(text)
    assert len(pieces) > 2
    assert all(len(p) <= MAX_TEXT for p in pieces)
    assert "".join(split_text("short")) == "short"


def test_keyboard_drops_payloads_over_64_bytes() -> None:
    markup = keyboard([Button("ok", "topic:v1:x"), Button("bad", "topic:v1:" + "é" * 40)])
    assert markup is not None
    assert [b.callback_data for row in markup.inline_keyboard for b in row] == ["topic:v1:x"]


# webhook -------------------------------------------------------------------------------


@pytest.fixture
async def web(app: App, fake: FakeBotAPI) -> AsyncIterator[str]:
    """The web process (uvicorn) serving /telegram and /healthz; yields its base URL."""
    config = replace(
        app.config,
        telegram_token=TOKEN,
        telegram_api_url=fake.url,
        webhook_secret="s3cret-Token_1",
        webhook_url="https://bot.example.org",
    )
    asgi = await serve.web_app(config)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, "127.0.0.1", port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 0, "text": text,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "R", "language_code": "ru"},
        },
    }  # fmt: skip


async def test_webhook_checks_the_secret_and_answers_once_per_update(
    web: str, fake: FakeBotAPI
) -> None:
    hook = fake.sent("setWebhook")[0].params
    assert hook["url"] == "https://bot.example.org/telegram"
    assert hook["secret_token"] == "s3cret-Token_1"
    async with httpx.AsyncClient(base_url=web) as client:
        assert (await client.get("/healthz")).status_code == 200
        body = json.dumps(update(1, "Shangshan"))
        assert (await client.post("/telegram", content=body)).status_code == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
        assert (await client.post("/telegram", content=body, headers=wrong)).status_code == 403
        good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
        assert (await client.post("/telegram", content=body, headers=good)).status_code == 200
        assert (await client.post("/telegram", content=body, headers=good)).status_code == 200
        assert (await client.post("/telegram", content="{oops", headers=good)).status_code == 400
        await fake.wait_for(lambda: bool(texts(fake)))
        await asyncio.sleep(0.3)
    assert len(texts(fake)) == 1  # the redelivered update was handled once
    assert any("\u0400" <= ch <= "\u04ff" for ch in texts(fake)[0])


async def test_a_day_plan_arrives_with_its_calendar_file(live: FakeBotAPI) -> None:
    live.push_text(USER, "/plan shangshan-site", lang="en")
    await next_text(live, 0)
    for number, data in enumerate(
        ["plan:v1:site:lizu-village", "plan:v1:done", "plan:v1:day:2099-01-05",
         "plan:v1:from:yiwu-airport", "plan:v1:at:09:00"], start=1,
    ):  # fmt: skip
        live.push_callback(USER, data)
        await next_text(live, number)
    await live.wait_for(lambda: bool(live.sent("sendDocument", USER)))
    document = live.sent("sendDocument", USER)[0].params["document"]
    assert document["filename"] == "jinhua-plan-2099-01-05.ics"
    assert document["content"].startswith(b"BEGIN:VCALENDAR")
    assert "Lizu" in texts(live)[-1] and "Shangshan" in texts(live)[-1]


async def test_a_promotion_notice_reaches_the_promoted_reporters_chat(
    app: App, live: FakeBotAPI
) -> None:
    from bot.rsvp.service import Person

    service = app.rsvp
    tour = min(service.tours.values(), key=lambda t: t.capacity)
    for n in range(tour.capacity):
        await service.request(
            tour.id, Person("telegram", str(5000 + n), str(5000 + n), "en", "S", "O")
        )
    await service.request(tour.id, Person("telegram", "777", "777", "ar", "سارة", "الجزيرة"))
    live.push_callback(5000, f"rsvp:v1:{tour.id}:cancel")
    await live.wait_for(lambda: bool(live.sent("sendDocument", 777)))
    [notice] = texts(live, 777)
    assert any("\u0600" <= ch <= "\u06ff" for ch in notice)
    assert len(texts(live, 5000)) == 1  # the canceller gets only their own confirmation


async def test_due_reminders_are_delivered_once_on_telegram(app: App, fake: FakeBotAPI) -> None:
    from bot.rsvp.service import Person

    service = app.rsvp
    tour = next(iter(service.tours.values()))
    await service.request(tour.id, Person("telegram", "4242", "4242", "fr", "Léa", "AFP"))
    telegram = TelegramBot(TOKEN, app.handle, app.dispatcher.public_commands(), fake.url)
    jobs = Jobs(app, {Channel.TELEGRAM: telegram.sender})
    await telegram.application.initialize()
    try:
        service.clock = lambda: tour.start - timedelta(hours=1)
        assert await jobs.housekeeping() == 2  # both due: the bot was down
        assert await jobs.housekeeping() == 0
        assert await jobs.worker.run_once() == 2
        assert await jobs.worker.run_once() == 0
    finally:
        await telegram.application.shutdown()
    reminders = texts(fake, 4242)
    assert len(reminders) == 2 and all("Rappel" in r for r in reminders)


def test_a_forged_update_with_a_non_text_name_still_becomes_a_message() -> None:
    from telegram import Bot, Update

    from bot.channels.telegram import incoming

    data = update(77, "Shangshan")
    data["message"]["from"]["first_name"] = 5
    msg = incoming(Update.de_json(data, Bot(TOKEN)))
    assert msg is not None and msg.text == "Shangshan" and msg.display_name == ""
