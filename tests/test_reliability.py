"""Nothing lost under a shared database and crashes: two bots on one file, and a booking's
confirmation that survives a crash between the booking and the reply."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

from bot.app import App, build_app
from bot.channels.console import ConsoleOutput
from bot.core.types import Channel, Incoming, Reply
from bot.i18n import translator
from bot.knowledge.service import KnowledgeService
from bot.runtime import Jobs
from tests.conftest import KNOWLEDGE

TOUR = "jinhua-heritage-and-industry"
STEPS = [("/tours", None), ("", f"rsvp:v1:{TOUR}:join"), ("Reporter", None), ("Outlet", None),
         ("camera", None), ("", f"rsvp:v1:{TOUR}:skip"), ("no", None),
         ("", f"rsvp:v1:{TOUR}:consent")]  # fmt: skip
APOLOGY = translator("en").gettext("Sorry, something went wrong on my side. Please try again.")


async def rsvp_form(app: App, user: str) -> list[Reply]:
    """The whole 8-step RSVP conversation of one reporter; the last step's replies."""
    replies: list[Reply] = []
    for text, payload in STEPS:
        replies = await app.handle(Incoming(Channel.CONSOLE, user, user, text, payload))
        assert replies and all(r.text != APOLOGY for r in replies)
    return replies


async def test_two_bots_on_one_database_never_apologise_nor_overbook(
    tmp_path: Path, knowledge: KnowledgeService
) -> None:
    from dataclasses import replace

    from bot.config import Config

    config = replace(Config(), knowledge_dir=KNOWLEDGE, db_path=str(tmp_path / "shared.db"),
                     book_samples=True)  # fmt: skip
    first, second = await build_app(config, knowledge), await build_app(config, knowledge)
    try:
        bots = (first, second)
        await asyncio.gather(*(rsvp_form(bots[n % 2], f"r{n}") for n in range(60)))
        bookings = await first.rsvp.bookings(TOUR)
        capacity = first.rsvp.tours[TOUR].capacity
        assert len(bookings) == 60
        assert sum(b.status == "confirmed" for b in bookings) == capacity
    finally:
        await first.close()
        await second.close()


async def test_a_confirmation_is_delivered_even_if_the_reply_never_left(app: App) -> None:
    booked = await rsvp_form(app, "crashy")  # ...and the process died before sending this
    assert booked[-1].attachment is not None
    out = io.StringIO()
    jobs = Jobs(app, {Channel.CONSOLE: ConsoleOutput(out, app.config.exports_dir, "crashy")})
    assert await jobs.worker.run_once() == 0  # not yet: the reply may still be on its way
    jobs.worker.clock = lambda: time.time() + 121  # two minutes later, after a restart
    assert await jobs.worker.run_once() == 1
    assert "check-in code" in out.getvalue()


async def test_a_delivered_confirmation_is_not_sent_again(app: App) -> None:
    booked = await rsvp_form(app, "happy")
    await app.delivered(booked)  # the channel sent it
    jobs = Jobs(app, {Channel.CONSOLE: ConsoleOutput(io.StringIO(), app.config.exports_dir)})
    jobs.worker.clock = lambda: time.time() + 121
    assert await jobs.worker.run_once() == 0
    assert await app.repos.outbox.counts() == {"sent": 1}
