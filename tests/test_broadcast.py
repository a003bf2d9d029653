"""Staff broadcasts: the form through App.handle on real SQLite, the outbox lanes, and
delivery through real python-telegram-bot to the fake Bot API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.broadcast.repository import Draft
from bot.broadcast.service import Audience
from bot.channels.telegram import TelegramBot, escaped_chunks
from bot.core.delivery import SENT, Delivery, SendResult
from bot.core.outbox import OutboxWorker
from bot.core.repositories import Outgoing
from bot.core.types import Channel, Incoming, Reply
from bot.i18n import translator
from bot.runtime import Jobs
from tests.fake_telegram import FakeBotAPI
from tests.test_cli import bot

STAFF = "staff-1"  # console:staff-1 is staff in the app fixture
MARK = "(This announcement has no version in your language; here it is in %(language)s.)"


class Recorder:
    """The platform edge, faked: what reached each chat, and edits."""

    channel = Channel.CONSOLE

    def __init__(self, blocked: frozenset[str] = frozenset()) -> None:
        self.sent: list[tuple[str, Reply]] = []
        self.edits: list[tuple[str, str, Reply]] = []
        self.blocked = blocked

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        if chat_id in self.blocked:
            return SendResult(Delivery.BLOCKED, reason="blocked")
        self.sent.append((chat_id, reply))
        return SendResult(Delivery.SENT, message_id=str(len(self.sent)))

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> SendResult:
        self.edits.append((chat_id, message_id, reply))
        return SendResult(Delivery.SENT, message_id=message_id)


def say(user: str, text: str = "", payload: str | None = None, hint: str = "en") -> Incoming:
    return Incoming(Channel.CONSOLE, user, user, text, payload, locale_hint=hint)


async def subscribe(app: App, *people: tuple[str, str]) -> None:
    for user, lang in people:
        await app.handle(say(user, f"/language {lang}"))
        await app.handle(say(user, "/subscribe"))


def payload_of(replies: list[Reply], prefix: str) -> str:
    return next(b.payload for b in replies[-1].buttons if b.payload.startswith(prefix))


async def deliver(app: App, sender: Recorder) -> int:
    worker = OutboxWorker(app.repos.outbox, {Channel.CONSOLE: sender}, time.time, 1000.0)
    return await worker.run_once()


async def test_staff_broadcast_form_preview_versions_and_delivery(app: App) -> None:
    await subscribe(app, ("en-1", "en"), ("fr-1", "fr"), ("zh-1", "zh"))
    replies = await app.handle(say(STAFF, "/broadcast"))
    replies = await app.handle(say(STAFF, payload=payload_of(replies, "bcast:v1:aud:all")))
    replies = await app.handle(say(STAFF, "Press conference at 10:00 <today> & tomorrow 🎉"))
    preview = [r.text for r in replies]
    assert "3" in preview[0]
    assert preview[1] == "📢 Press conference at 10:00 <today> & tomorrow 🎉"
    assert translator("zh").gettext(MARK) % {"language": "English"} in preview[2]
    replies = await app.handle(say(STAFF, payload="bcast:v1:add:fr"))
    replies = await app.handle(say(STAFF, "Conférence de presse à 10 h"))
    assert "📢 Conférence de presse à 10 h" in [r.text for r in replies]
    replies = await app.handle(say(STAFF, payload=payload_of(replies, "bcast:v1:send")))
    assert replies[-1].buttons[0].payload == "bcast:v1:stop:1"

    await app.handle(say("zh-1", "/unsubscribe"))  # after queueing, before the send
    sender = Recorder()
    await deliver(app, sender)
    got = {chat: r.text for chat, r in sender.sent}
    assert got == {
        "en-1": "📢 Press conference at 10:00 <today> & tomorrow 🎉",
        "fr-1": "📢 Conférence de presse à 10 h",
    }
    broadcast = await app.broadcasts.service.get(1)
    assert broadcast is not None and broadcast.counts == {"sent": 2, "skipped": 1}
    assert broadcast.created_by == "console:staff-1"
    assert broadcast.texts["en"].endswith("🎉")  # frozen as written

    assert await app.broadcasts.report_progress({Channel.CONSOLE: sender}) == 1
    report = sender.sent[-1][1].text
    assert "sent 2" in report and "unsubscribed 1" in report
    assert (await app.broadcasts.service.get(1)).status == "done"  # type: ignore[union-attr]


async def test_only_staff_can_broadcast_list_or_stop(app: App) -> None:
    await subscribe(app, ("en-1", "en"))
    refusal = translator("en").gettext("Sorry, this command is for the centre's staff only.")
    for text in ("/broadcast", "/broadcasts", "/broadcast_cancel 1"):
        [reply] = await app.handle(say("intruder", text))
        assert reply.text == refusal
    draft = Draft("console:staff-1", "all", {"en": "hi"}, "en", time.time(), True)
    await app.broadcasts.queue(draft, Audience("all"))
    [reply] = await app.handle(say("intruder", payload="bcast:v1:stop:1"))  # forged button
    assert reply.text == refusal
    assert (await app.broadcasts.service.get(1)).status == "queued"  # type: ignore[union-attr]


async def test_cancel_keeps_what_was_sent_and_drops_the_rest(app: App) -> None:
    await subscribe(app, *[(f"u{n}", "en") for n in range(5)])
    draft = Draft("console:staff-1", "all", {"en": "hi"}, "en", time.time(), True)
    await app.broadcasts.queue(draft, Audience("all"))
    [first] = await app.repos.outbox.claim(time.time(), 1)
    await app.repos.outbox.finish(first, SENT, time.time())
    [reply] = await app.handle(say(STAFF, "/broadcast_cancel 1"))
    assert "#1" in reply.text
    assert await deliver(app, Recorder()) == 0
    broadcast = await app.broadcasts.service.get(1)
    assert broadcast is not None and broadcast.counts == {"sent": 1, "cancelled": 4}
    [again] = await app.handle(say(STAFF, "/broadcast_cancel 1"))
    assert again.text != reply.text


async def test_a_scheduled_broadcast_waits_for_its_time(app: App) -> None:
    await subscribe(app, ("en-1", "en"))
    replies = await app.handle(say(STAFF, "/broadcast"))
    await app.handle(say(STAFF, payload="bcast:v1:aud:all"))
    await app.handle(say(STAFF, "later"))
    await app.handle(say(STAFF, payload="bcast:v1:at"))
    [again] = await app.handle(say(STAFF, "yesterday at noon"))
    assert again.text.startswith(translator("en").gettext("I could not read that time."))
    replies = await app.handle(say(STAFF, "2999-06-01 09:00 Europe/Paris"))
    await app.handle(say(STAFF, payload=payload_of(replies, "bcast:v1:send")))
    broadcast = await app.broadcasts.service.get(1)
    assert broadcast is not None
    paris = datetime(2999, 6, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert broadcast.scheduled_at == pytest.approx(paris.timestamp())
    assert await deliver(app, Recorder()) == 0


async def test_blocked_recipients_are_unsubscribed_and_never_retried(app: App) -> None:
    await subscribe(app, ("en-1", "en"), ("en-2", "en"))
    draft = Draft("console:staff-1", "all", {"en": "hi"}, "en", time.time(), True)
    await app.broadcasts.queue(draft, Audience("all"))
    await deliver(app, Recorder(blocked=frozenset({"en-2"})))
    assert not await app.repos.subscribers.is_subscribed("console", "en-2")
    assert await app.repos.subscribers.is_subscribed("console", "en-1")
    assert (await app.broadcasts.service.get(1)).counts == {"sent": 1, "blocked": 1}  # type: ignore[union-attr]


class Limited(Recorder):
    """Answers the first broadcast send with RetryAfter."""

    def __init__(self) -> None:
        super().__init__()
        self.limited = False

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        if reply.text.startswith("📢") and not self.limited:
            self.limited = True
            return SendResult(Delivery.RETRY, 60.0, "retry_after")
        return await super().send(chat_id, reply)


async def test_other_kinds_go_first_and_a_retry_after_holds_only_broadcasts(app: App) -> None:
    await subscribe(app, *[(f"u{n}", "en") for n in range(20)])
    draft = Draft("console:staff-1", "all", {"en": "hi"}, "en", time.time(), True)
    await app.broadcasts.queue(draft, Audience("all"))
    reminder = Outgoing(Channel.CONSOLE, "r1", Reply("reminder", "en"), "reminder", "rem:1")
    await app.repos.outbox.enqueue([reminder])
    [first] = await app.repos.outbox.claim(time.time(), 1)
    assert first.kind == "reminder"  # queued last, claimed first
    await app.repos.outbox.release([first], time.time())
    sender = Limited()
    worker = OutboxWorker(app.repos.outbox, {Channel.CONSOLE: sender}, time.time, 1000.0)
    await worker.run_once()
    assert [c for c, _ in sender.sent] == ["r1"]  # the broadcast lane waits 60 s
    late = Outgoing(Channel.CONSOLE, "r2", Reply("promotion", "en"), "promotion", "p:1")
    await app.repos.outbox.enqueue([late])
    await worker.run_once()
    assert [c for c, _ in sender.sent] == ["r1", "r2"]
    assert (await app.repos.outbox.counts()).get("pending") == 20  # nothing lost, no attempt


# Telegram ---------------------------------------------------------------------------

TOKEN = "123456:TEST-token-not-real"
STAFF_TG = 500


@pytest.fixture
async def live(app: App) -> AsyncIterator[tuple[App, FakeBotAPI]]:
    fake = FakeBotAPI()
    await fake.start()
    app.dispatcher.staff_ids = frozenset({f"telegram:{STAFF_TG}"})
    app.broadcasts.service.staff_ids = frozenset({f"telegram:{STAFF_TG}"})
    telegram = TelegramBot(TOKEN, app.handle, app.dispatcher.public_commands(), fake.url)
    jobs = Jobs(app, {Channel.TELEGRAM: telegram.sender})
    await telegram.start()
    jobs.start()
    yield app, fake
    await jobs.stop()
    await telegram.stop()
    await fake.stop()


async def test_a_long_html_broadcast_arrives_intact_and_progress_is_edited(
    live: tuple[App, FakeBotAPI],
) -> None:
    _, fake = live
    for user in (601, 602):
        fake.push_text(user, "/subscribe")
        await fake.wait_reply(user, 1)
    text = "".join(f"Line {n}: <b>not bold</b> & 🎉 Jinhua 金华\n" for n in range(130))
    assert len(text) > 4000
    fake.push_text(STAFF_TG, "/broadcast")
    await fake.wait_reply(STAFF_TG, 1)
    fake.push_callback(STAFF_TG, "bcast:v1:aud:all")
    await fake.wait_reply(STAFF_TG, 2)
    fake.push_text(STAFF_TG, text)
    await fake.wait_for(lambda: "send" in str(fake.sent()[-1].params.get("reply_markup")))
    fake.push_callback(STAFF_TG, "bcast:v1:send")
    pieces_expected = len(escaped_chunks(f"📢 {text}"))
    assert pieces_expected > 1
    for user in (601, 602):
        await fake.wait_reply(user, 1 + pieces_expected, timeout=20)  # after /subscribe's answer
    for user in (601, 602):
        pieces = [c.params["text"] for c in fake.sent("sendMessage", user)][1:]
        assert all(len(p) <= 4096 for p in pieces)
        joined = "\n".join(pieces).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert joined.split() == f"📢 {text}".split()

    def reports() -> list[str]:  # the progress message, sent then edited in place
        calls = fake.sent("sendMessage", STAFF_TG) + fake.sent("editMessageText", STAFF_TG)
        return [c.params["text"] for c in calls if "📢" in c.params["text"]]

    await fake.wait_for(lambda: any("sent 2 " in r for r in reports()), timeout=15)


async def test_a_user_who_blocks_the_bot_is_unsubscribed(live: tuple[App, FakeBotAPI]) -> None:
    app, fake = live
    fake.push_text(701, "/subscribe")
    await fake.wait_reply(701, 1)
    assert await app.repos.subscribers.is_subscribed("telegram", "701")
    member = {"user": {"id": 4242, "is_bot": True, "first_name": "JHICC"}, "date": 0}
    fake.push({"my_chat_member": {
        "chat": {"id": 701, "type": "private"}, "from": fake._user(701, "en"), "date": 0,
        "old_chat_member": {**member, "status": "member"},
        "new_chat_member": {**member, "status": "kicked", "until_date": 0},
    }})  # fmt: skip
    for _ in range(100):
        if not await app.repos.subscribers.is_subscribed("telegram", "701"):
            break
        await asyncio.sleep(0.05)
    assert not await app.repos.subscribers.is_subscribed("telegram", "701")


# CLI --------------------------------------------------------------------------------


def test_cli_queues_for_staff_only_and_reports_status(tmp_path: Path) -> None:
    message = tmp_path / "m.txt"
    message.write_text("Bus leaves at 8 <sharp> & 🚌", encoding="utf-8")
    env = {"BOT_DB": str(tmp_path / "b.db"), "BOT_STAFF_IDS": "telegram:9"}
    refused = bot("broadcast", "send", "--audience", "staff", "--file", str(message),
                  "--yes", "--as", "telegram:8", env=env)  # fmt: skip
    assert refused.returncode == 2 and "BOT_STAFF_IDS" in refused.stderr
    sent = bot("broadcast", "send", "--audience", "staff", "--file", str(message), "--yes",
               "--as", "telegram:9", env=env)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert "#1 queued for 1" in sent.stdout and "no running bot" in sent.stderr
    status = bot("broadcast", "status", "1", "--json", "--as", "telegram:9", env=env)
    snapshot = json.loads(status.stdout)
    assert snapshot["progress"]["pending"] == 1 and snapshot["created_by"] == "telegram:9"
    cancelled = bot("broadcast", "cancel", "1", "--as", "telegram:9", env=env)
    assert cancelled.returncode == 0
    listing = bot("broadcast", "list", "--as", "telegram:9", env=env)
    assert "cancelled 1" in listing.stdout
