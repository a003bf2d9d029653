"""The four defects the redesign fixed, each through the whole bot on a real SQLite file."""

from __future__ import annotations

import io
import time
from datetime import timedelta

from bot.app import App
from bot.channels.console import ConsoleOutput
from bot.core.types import Channel, Incoming
from bot.i18n import translator
from bot.rsvp.service import Person
from bot.runtime import Jobs
from tests.test_dispatcher import say

APOLOGY = "Sorry, something went wrong on my side. Please try again."


async def test_a_stale_plan_button_during_an_rsvp_form_reaches_the_plan_not_the_form(
    app: App,
) -> None:
    tours = await app.handle(say("/tours"))
    join = next(b.payload for b in tours[-1].buttons if b.payload.endswith(":join"))
    await app.handle(say("", payload=join))  # the RSVP form is open
    replies = await app.handle(say("", payload="plan:v1:done"))  # from an old day plan
    assert replies[-1].text != APOLOGY
    assert any(b.payload.startswith("plan:v1:site:") for b in replies[-1].buttons)
    old_day = await app.handle(say("", payload="plan:v1:at:09:00"))  # out of order
    assert old_day[-1].text != APOLOGY


async def test_reminders_reach_console_bookings_and_wait_for_other_channels(app: App) -> None:
    tour = next(iter(app.rsvp.tours.values()))
    await app.rsvp.request(tour.id, Person("console", "c1", "c1", "fr", "Léa", "AFP"))
    await app.rsvp.request(tour.id, Person("wechat", "w1", "w1", "zh", "李", "新华社"))
    out = io.StringIO()
    console = ConsoleOutput(out, app.config.exports_dir, user="c1")
    jobs = Jobs(app, {Channel.CONSOLE: console})  # no WeChat sender in this process
    app.rsvp.clock = lambda: tour.start - timedelta(hours=1)
    assert await jobs.housekeeping() == 4  # 24 h and 2 h reminders, both people
    await jobs.worker.run_once()
    assert out.getvalue().count("Rappel") == 2  # in the booking's language
    counts = await app.repos.outbox.counts()
    assert counts == {"sent": 2, "pending": 2}  # WeChat's wait for a WeChat sender


async def test_forget_frees_the_seat_and_the_promoted_person_is_told(app: App) -> None:
    tour = min(app.rsvp.tours.values(), key=lambda t: t.capacity)
    for n in range(tour.capacity):
        await app.rsvp.request(tour.id, Person("console", f"s{n}", f"s{n}", "en", "S", "O"))
    await app.rsvp.request(tour.id, Person("telegram", "77", "77", "sw", "Amina", "TBC"))
    await app.handle(say("/forget", user="s0"))
    await app.handle(say("", user="s0", payload="forget:v1:yes"))  # the confirmation
    [notice] = await app.repos.outbox.claim(time.time(), 10)
    assert (notice.channel, notice.chat_id, notice.reply.lang) == (Channel.TELEGRAM, "77", "sw")
    assert notice.kind == "promotion"


async def test_core_notices_use_the_saved_language_not_the_platforms(app: App) -> None:
    await app.handle(say("/language ar", hint="en"))
    expired = await app.handle(say("", hint="en", payload="plan:v9:gone"))
    assert expired[-1].lang == "ar"
    assert expired[-1].text == translator("ar").gettext(
        "This button is no longer valid. Please ask again."
    )
    flood_text = translator("ar").gettext(
        "You are sending messages very fast. Please wait a few seconds."
    )
    notices = [await app.handle(say("hello", hint="en")) for _ in range(25)]
    flood = [r for replies in notices for r in replies if r.text == flood_text]
    assert len(flood) == 1  # told once, in Arabic


async def test_a_redelivered_update_is_answered_once_also_by_another_process(app: App) -> None:
    from bot.app import build_app

    msg = Incoming(Channel.TELEGRAM, "9", "9", "Shangshan", update_key="1234")
    assert await app.handle(msg)
    other = await build_app(app.config, app.knowledge)  # a second process on the same file
    try:
        assert await other.handle(msg) == []
    finally:
        await other.close()


async def test_a_second_checkin_says_when_and_staff_replies_use_their_saved_language(
    app: App,
) -> None:
    tour = next(iter(app.rsvp.tours.values()))
    booking = await app.rsvp.request(tour.id, Person("console", "r", "r", "en", "Ana", "EFE"))
    await app.handle(say("/language fr", user="staff-1"))
    first = await app.handle(say(f"/checkin {booking.code}", user="staff-1", hint="en"))
    again = await app.handle(say(f"/checkin\t{booking.code}", user="staff-1", hint="en"))
    assert first[-1].lang == again[-1].lang == "fr"
    assert "Ana" in first[-1].text and again[-1].text != first[-1].text
    assert "Ana" in again[-1].text
