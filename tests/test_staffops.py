"""Staff operations end to end: handoffs over real Telegram (and across a restart), /mydata
against /forget on a real SQLite file, unanswered questions, figures, audit, samples."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from bot.channels.console import ConsoleOutput
from bot.channels.telegram import TelegramBot
from bot.config import Config
from bot.core.dispatcher import Turn
from bot.core.state import Conversation
from bot.core.types import Channel, Incoming
from bot.features.intents import IntentDetector
from bot.i18n import translator
from bot.knowledge.service import KnowledgeService
from bot.rsvp.service import Person, RsvpError
from bot.runtime import Jobs
from bot.staffops.handoffs import find_reference, parse_reference
from tests.conftest import KNOWLEDGE
from tests.fake_telegram import BOT_USER, FakeBotAPI

TOKEN = "123456:TEST-token-not-real"
REPORTER = 1001
STAFF = 9
STAFF_CHAT = -100500
PASSED_ON = (
    "I have passed your message to the press centre's staff. They will answer you here. "
    "Everything you write now goes to them; type /done to end."
)


def config_at(tmp_path: Path, **changes: Any) -> Config:
    return replace(
        Config(),
        knowledge_dir=KNOWLEDGE,
        db_path=str(tmp_path / "bot.sqlite3"),
        staff_ids=frozenset({f"telegram:{STAFF}", "console:staff-1"}),
        staff_chat=f"telegram:{STAFF_CHAT}",
        exports_dir=tmp_path / "exports",
        **changes,
    )


def say(text: str, user: str = "u1", payload: str | None = None, **extra: Any) -> Incoming:
    return Incoming(Channel.CONSOLE, user, user, text, payload, **extra)


def texts(fake: FakeBotAPI, chat: int) -> list[str]:
    return [c.params["text"] for c in fake.sent("sendMessage", chat)]


def staff_reply_update(text: str, quoted: str) -> dict[str, Any]:
    """A staff member answering, in the staff group, a message the bot forwarded."""
    chat = {"id": STAFF_CHAT, "type": "supergroup", "title": "Press centre staff"}
    staff = {"id": STAFF, "is_bot": False, "first_name": "Wang", "last_name": "Staffer",
             "language_code": "en"}  # fmt: skip
    forwarded = {"message_id": 77, "date": 0, "chat": chat, "from": BOT_USER, "text": quoted}
    return {"message": {"message_id": 78, "date": 0, "chat": chat, "from": staff, "text": text,
                        "reply_to_message": forwarded}}  # fmt: skip


async def settle(app: App) -> None:
    """Wait until the outbox has nothing pending or in flight (so a stop duplicates none)."""
    for _ in range(200):
        counts = await app.repos.outbox.counts()
        if not counts.get("pending") and not counts.get("sending"):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(counts)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll for something outside the fake Bot API (the console's output)."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("not in time")


class Running:
    """The bot on Telegram, as the runtime runs it: polling, the outbox worker, housekeeping."""

    def __init__(self, app: App, fake: FakeBotAPI, console: ConsoleOutput | None = None) -> None:
        self.app = app
        self.telegram = TelegramBot(TOKEN, app.handle, app.dispatcher.public_commands(), fake.url)
        senders: dict[Channel, Any] = {Channel.TELEGRAM: self.telegram.sender}
        if console is not None:
            senders[Channel.CONSOLE] = console
        self.jobs = Jobs(app, senders)

    async def __aenter__(self) -> Running:
        await self.telegram.start()
        self.jobs.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.jobs.stop()
        await self.telegram.stop()


# handoffs --------------------------------------------------------------------------------


async def test_handoff_round_trip_on_telegram_survives_a_restart(
    tmp_path: Path, fake: FakeBotAPI, knowledge: KnowledgeService
) -> None:
    pt = translator("pt")
    app = await build_app(config_at(tmp_path), knowledge)
    async with Running(app, fake):
        fake.push_text(REPORTER, "Quero falar com uma pessoa da equipe", lang="pt")
        await fake.wait_for(lambda: bool(texts(fake, REPORTER)) and bool(texts(fake, STAFF_CHAT)))
        await settle(app)
    await app.close()
    [told] = texts(fake, REPORTER)
    assert told.startswith(pt.gettext(PASSED_ON))
    assert (
        pt.gettext("The press office has not published a phone number or e-mail address yet.")
        in told
    )  # contact.yaml publishes none: the bot says so and invents nothing
    [forwarded] = texts(fake, STAFF_CHAT)
    assert "#H1" in forwarded and f"User{REPORTER}" in forwarded and "Português" in forwarded
    assert "Quero falar com uma pessoa da equipe" in forwarded

    app = await build_app(config_at(tmp_path), knowledge)  # a restart in the middle
    async with Running(app, fake):
        fake.push(staff_reply_update("Olá! Como posso ajudar?", forwarded))
        await fake.wait_for(lambda: len(texts(fake, REPORTER)) == 2)
        answer = texts(fake, REPORTER)[1]
        fake.push_text(REPORTER, "Preciso de um intérprete amanhã", lang="pt")
        await fake.wait_for(lambda: len(texts(fake, STAFF_CHAT)) == 3)
        fake.push_text(REPORTER, "/done", lang="pt")
        await fake.wait_for(lambda: len(texts(fake, STAFF_CHAT)) == 4)
        log = await app.repos.audit.recent(5)
    await app.close()
    assert (
        answer == pt.gettext("Reply from the press centre's staff:") + "\nOlá! Como posso ajudar?"
    )
    assert "Wang" not in answer and str(STAFF) not in answer  # no staff data to the person
    assert texts(fake, STAFF_CHAT)[1] == "Sent to #H1."
    assert "#H1" in texts(fake, STAFF_CHAT)[2] and "intérprete amanhã" in texts(fake, STAFF_CHAT)[2]
    assert texts(fake, STAFF_CHAT)[3] == "#H1 was closed by the person."
    assert texts(fake, REPORTER)[2:] == [
        pt.gettext("Passed on to the staff."),
        pt.gettext("The conversation with the staff has ended. Ask me anything else."),
    ]
    assert [(e["actor"], e["action"], e["detail"]) for e in log] == [
        (f"telegram:{STAFF}", "handoff-reply", "#H1")
    ]


async def test_a_console_reporter_gets_a_telegram_staff_answer_through_the_outbox(
    tmp_path: Path, fake: FakeBotAPI, knowledge: KnowledgeService
) -> None:
    out = io.StringIO()
    app = await build_app(config_at(tmp_path), knowledge)
    console = ConsoleOutput(out, tmp_path / "exports", "reporter")
    async with Running(app, fake, console):
        [opened] = await app.handle(say("我要找工作人员", user="reporter"))
        assert opened.lang == "zh" and opened.text.startswith(translator("zh").gettext(PASSED_ON))
        await fake.wait_for(lambda: bool(texts(fake, STAFF_CHAT)))
        fake.push_text(STAFF, "/reply 1 您好，我们明天联系您", lang="en")
        await fake.wait_for(lambda: bool(texts(fake, STAFF)))
        staff_list = await app.handle(say("/handoffs", user="staff-1"))
        await until(lambda: "您好" in out.getvalue())
    await app.close()
    assert texts(fake, STAFF) == ["Sent to #H1."]
    assert translator("zh").gettext("Reply from the press centre's staff:") in out.getvalue()
    assert "#H1" in staff_list[-1].text and "console" in staff_list[-1].text


async def test_a_quiet_handoff_closes_and_the_next_message_is_a_question_again(
    tmp_path: Path, knowledge: KnowledgeService
) -> None:
    app = await build_app(config_at(tmp_path), knowledge)
    try:
        await app.handle(say("I need to talk to someone", user="r1"))
        handoffs = app.staffops.handoffs
        later = handoffs.clock() + timedelta(hours=3)
        handoffs.clock = lambda: later
        assert await app.staffops.housekeeping() == 1
        queued = await app.repos.outbox.claim(later.timestamp() + 10, 50)
        to_person = [q for q in queued if q.channel is Channel.CONSOLE and q.chat_id == "r1"]
        assert "/human" in to_person[-1].reply.text
        replies = await app.handle(say("Where is Yiwu market?", user="r1"))
        assert "outcome" in replies[-1].meta  # answered by the bot, not forwarded
    finally:
        await app.close()


def test_human_requests_are_recognised_in_all_eight_languages(
    knowledge: KnowledgeService,
) -> None:
    detector = IntentDetector(knowledge)
    turn = Turn(Incoming(Channel.CONSOLE, "u", "u"), Conversation("console", "u"),
                translator("en"), False)  # fmt: skip

    def detect_intent(text: str) -> str | None:
        return asyncio.run(detector(turn, text))

    asks = [
        "I need to talk to someone", "我要找工作人员", "Je voudrais parler à quelqu'un",
        "Quiero hablar con una persona", "أريد التحدث مع موظف", "Можно поговорить с человеком?",
        "Quero falar com uma pessoa da equipe", "Nataka kuongea na mtu",
    ]  # fmt: skip
    assert [detect_intent(text) for text in asks] == ["human"] * 8
    assert detect_intent("When does Yiwu market open?") is None
    assert detect_intent("工作人员几点上班？") is None  # "staff" alone is not a request
    assert (find_reference("#H12 · Léa · fr"), parse_reference("12"), parse_reference("x")) == (
        12, 12, None,
    )  # fmt: skip


# privacy ----------------------------------------------------------------------------------

NAME = "Zanele Qwertyuiop"
USER = "person-8675309"
ANSWER = "Needs a Zulu interpreter xyzzy"


async def all_rows(app: App) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(r) for r in await app.db.fetchall(f"SELECT * FROM {table}")]
        for table in await app.db.tables()
    }


def as_set(rows: list[dict[str, Any]]) -> set[str]:
    return {json.dumps(row, sort_keys=True, default=str) for row in rows}


async def leave_traces(app: App) -> None:
    """A person who uses everything that keeps data about them."""
    me = {"user": USER, "display_name": NAME}
    await app.handle(say("/language fr", **me))
    await app.handle(say("/subscribe", **me))
    tours = await app.handle(say("/tours", **me))
    join = next(b.payload for b in tours[-1].buttons if b.payload.endswith(":join"))
    await app.handle(say("", payload=join, **me))
    for answer in (NAME, "Radio Qwertyuiop", "reporter"):
        await app.handle(say(answer, **me))
    await app.handle(say("", payload=f"{join[: -len('join')]}skip", **me))
    await app.handle(say(ANSWER, **me))
    await app.handle(say("", payload=f"{join[: -len('join')]}consent", **me))
    await app.handle(say("Where is Yiwu market?", **me))
    await app.handle(say(f"I need to talk to someone, I am {NAME}", **me))
    await app.handle(say("/reply 1 Bonjour", user="staff-1"))


async def test_forget_leaves_no_row_and_mydata_returns_every_row_it_deletes(
    tmp_path: Path, knowledge: KnowledgeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.INFO)
    app = await build_app(config_at(tmp_path, book_samples=True), knowledge)
    try:
        await leave_traces(app)
        [sent] = await app.handle(say("/mydata", user=USER))
        assert sent.attachment is not None
        mydata = json.loads(sent.attachment.content)["tables"]
        assert {
            "conversations",
            "subscribers",
            "bookings",
            "reminders",
            "handoffs",
            "outbox",
        } <= set(mydata)
        [question] = await app.handle(say("/forget", user=USER))
        assert question.lang == "fr" and len(question.buttons) == 2
        before = await all_rows(app)
        exported = await _export(app)
        await app.handle(say("", user=USER, payload=question.buttons[0].payload))
        after = await all_rows(app)
        for table in before:
            deleted = as_set(before[table]) - as_set(after[table])
            assert deleted == as_set(exported.get(table, [])), table
        assert set(exported) == set(mydata)  # /mydata showed the same tables
        for table, rows in after.items():
            for row in rows:
                for value in row.values():
                    for secret in (USER, NAME, ANSWER, "Qwertyuiop"):
                        assert secret not in str(value), (table, row)
        integrity = await app.db.fetchall("PRAGMA foreign_key_check")
        assert integrity == []
    finally:
        await app.close()
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        assert all(s not in line for s in (USER, NAME, ANSWER, "Yiwu")), line


async def _export(app: App) -> dict[str, list[dict[str, Any]]]:
    """What /mydata exports at this moment, through the same hooks."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for hook in app.dispatcher.registry.export_hooks:
        for table, rows in (await hook("console", USER)).items():
            merged.setdefault(table, []).extend(r for r in rows if r not in merged[table])
    return {table: rows for table, rows in merged.items() if rows}


async def test_forget_asks_first_and_no_keeps_everything(app: App) -> None:
    await app.handle(say("/subscribe"))
    [question] = await app.handle(say("/forget"))
    [kept] = await app.handle(say("", payload=question.buttons[1].payload))
    assert kept.text == "Nothing was deleted."
    assert await app.repos.subscribers.count() == 1


async def test_personal_and_staff_data_never_go_into_a_group(app: App) -> None:
    in_group: dict[str, Any] = {"is_group": True}
    private = translator("en").gettext(
        "Please write to me in a private chat for this: I don't show it in groups."
    )
    tour = next(iter(app.rsvp.tours))
    for message in (
        say("/rsvps " + tour, user="staff-1", **in_group),
        say("/mydata", **in_group),
        say("/human", **in_group),
        say("", payload=f"rsvp:v1:{tour}:join", **in_group),
    ):
        [reply] = await app.handle(message)
        assert reply.text == private


# unanswered, figures, audit -------------------------------------------------------------


async def test_unanswered_questions_are_grouped_without_who_asked(app: App) -> None:
    for text in ("Is there a laundry near my hotel?", "is there a Laundry near my hotel",
                 "Laundry near my hotel??"):  # fmt: skip
        await app.handle(say(text, user="a"))
    await app.handle(say("Y a-t-il un parking pour les vélos ?", user="b"))
    await app.handle(say("Where is Yiwu market?", user="c"))
    groups = await app.staffops.questions.groups()
    assert [(g.count, g.lang) for g in groups] == [(3, "en"), (1, "fr")]
    columns = {r["name"] for r in await app.db.fetchall("PRAGMA table_info(unanswered)")}
    assert not columns & {"user_id", "chat_id", "channel"}
    [listing] = await app.handle(say("/unanswered", user="staff-1"))
    assert listing.text.splitlines()[1].startswith("3× [en]")
    [figures] = await app.handle(say("/stats", user="staff-1"))
    assert "Questions: 5, answered: 1 (20%)" in figures.text
    assert figures.attachment is not None and figures.attachment.content[:4] == b"\x89PNG"


async def test_staff_actions_are_audited(app: App) -> None:
    await app.handle(say("/reload", user="staff-1"))
    tour = next(iter(app.rsvp.tours))
    await app.handle(say(f"/export {tour}", user="staff-1"))
    [audit] = await app.handle(say("/audit", user="staff-1"))
    lines = audit.text.splitlines()
    assert lines[1].endswith(f"console:staff-1 export {tour}")
    assert lines[2].endswith("console:staff-1 reload")
    [refused] = await app.handle(say("/audit", user="someone"))
    assert "staff" in refused.text


# RSVP data staff can trust --------------------------------------------------------------


async def test_sample_tours_are_shown_as_samples_and_cannot_be_booked(
    tmp_path: Path, knowledge: KnowledgeService
) -> None:
    app = await build_app(config_at(tmp_path), knowledge)  # samples not bookable: the default
    try:
        tour = next(iter(app.rsvp.tours.values()))
        assert tour.sample
        note = translator("fr").gettext(
            "Sample tour: an example of what the centre offers, not yet open for booking."
        )
        [listing] = await app.handle(say("/tours", locale_hint="fr"))
        assert note in listing.text and not listing.buttons
        [refused] = await app.handle(say("", payload=f"rsvp:v1:{tour.id}:join", locale_hint="fr"))
        assert refused.text == note
        with pytest.raises(RsvpError, match="sample"):
            await app.rsvp.request(tour.id, Person("console", "1", "1", "en", "A", "B"))
        assert len(app.rsvp.live_samples()) == len(app.rsvp.tours)
    finally:
        await app.close()


async def test_csv_export_is_safe_translated_and_labelled(app: App) -> None:
    tour = next(t for t in app.rsvp.tours.values() if t.questions)
    app.rsvp.clock = lambda: tour.rsvp_closes - timedelta(days=1)
    evil = Person("telegram", "1", "1", "en", "=HYPERLINK(\"http://x\")", "+cmd", "-1", "@x",
                  (("interpreter", "=1+1"),))  # fmt: skip
    await app.rsvp.request(tour.id, evil)
    for n in range(tour.capacity):
        await app.rsvp.request(tour.id, Person("telegram", f"w{n}", "w", "en", f"N{n}", "O"))
    [reply] = await app.handle(say(f"/export {tour.id}", user="staff-1", locale_hint="fr"))
    assert reply.attachment is not None
    rows = reply.attachment.content.decode("utf-8-sig").splitlines()
    label = dict(tour.questions)["interpreter"]["fr"]
    assert rows[0].endswith(label) or rows[0].endswith(f'"{label}"')
    first = rows[1].split(",")
    assert first[1] == "confirmée"
    assert "'=HYPERLINK" in rows[1] and "'+cmd" in rows[1] and "'-1" in rows[1]
    assert "'=1+1" in rows[1] and "'@x" in rows[1]
    assert rows[-1].split(",")[1] == "en liste d'attente"


def test_cli_stats_unanswered_and_audit(tmp_path: Path) -> None:
    from tests.test_cli import bot

    async def use() -> None:
        app = await build_app(config_at(tmp_path))
        for text in ("Is there a laundry near my hotel?", "=cmd|' /C calc'!A0 laundry", "Yiwu?"):
            await app.handle(say(text, user="a", locale_hint="en"))
        await app.handle(say("/reload", user="staff-1"))
        await app.close()

    asyncio.run(use())
    env = {"BOT_DB": str(tmp_path / "bot.sqlite3")}
    png = tmp_path / "usage.png"
    stats = bot("stats", "--json", "--chart", str(png), env=env)
    assert stats.returncode == 0, stats.stderr
    figures = json.loads(stats.stdout)
    assert figures["questions"] == 3 and figures["people"] == {"console": {"en": 2}}
    assert png.read_bytes()[:4] == b"\x89PNG"
    table = bot("kb", "unanswered", "--csv", env=env).stdout.splitlines()
    assert table[0].startswith("count,lang,question")
    assert all(not line.split(",")[2].startswith("=") for line in table[1:])
    assert any(line.split(",")[2].startswith("'=cmd") for line in table[1:])  # neutralised
    assert "console:staff-1 reload" in bot("audit", env=env).stdout
