"""Day plans: the form (sites, day, start place, start time), then the plan.

The form's state is a FormState saved with the conversation, so it works the same on every
channel; buttons become numbered lines where a channel has none.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, time, timedelta

from babel.dates import format_date

from bot.core.dispatcher import Command, Registry, Turn
from bot.core.payloads import Press, encode
from bot.core.state import FormState
from bot.core.types import Button, Reply
from bot.features.plan_render import plan_reply
from bot.i18n import N_, Translator
from bot.itinerary.service import ItineraryService
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.service import KnowledgeService

PLAN = "plan"  # press and form kind: plan:v1:<action>[:<arg>]
START_TIMES = ("08:00", "09:00", "10:00", "13:00")
DAYS_OFFERED = 7
DONE_LABEL = N_("Done")
CANCEL_LABEL = N_("Cancel")
USE_BUTTONS = N_("Please choose with the buttons below (or tap Cancel to stop).")
TIME = re.compile(r"(\d{1,2}):(\d{2})")


class PlansFeature:
    """/plan and planning requests in free text open the day-plan form."""

    kind = PLAN

    def __init__(self, itinerary: ItineraryService, knowledge: KnowledgeService) -> None:
        self.itinerary = itinerary
        self.knowledge = knowledge

    def register(self, registry: Registry) -> None:
        """The /plan command, the form, its buttons and the planning intent."""
        registry.command(Command("plan", self.start, N_("plan a day of interviews")))
        registry.form(self)
        registry.press(PLAN, self.on_stale_press)
        registry.intent("plan", self.start)

    async def start(self, turn: Turn, text: str) -> list[Reply]:
        """Begin, with any sites the request names already chosen."""
        try:
            sites = self.itinerary.sites  # fails while the travel table has errors
        except KnowledgeError:
            return [coming_soon(turn.t)]
        chosen = [s for s in self.knowledge.named_topics(text, "route") if s in sites]
        turn.form = FormState(PLAN, "sites", {"sites": chosen})
        return [self._ask_sites(turn.form, turn.t)]

    async def on_stale_press(self, turn: Turn, press: Press) -> list[Reply]:
        """A plan button from a finished or other form: start a new plan."""
        return await self.start(turn, "")

    async def on_cancel(self, turn: Turn, form: FormState) -> list[Reply]:
        """Leave the form."""
        return [Reply(turn.t.gettext("Planning cancelled."), turn.lang)]

    async def on_press(self, turn: Turn, form: FormState, press: Press) -> list[Reply]:
        """A button of the open plan form."""
        action, arg = press.arg(0), ":".join(press.args[1:]) or None
        if action == "cancel":
            turn.form = None
            return await self.on_cancel(turn, form)
        if action == "site" and arg in self.itinerary.sites:
            return [self._toggle(turn, form, arg)]
        if action == "done":
            return [self._done(turn, form)]
        if action == "day" and arg and form.step == "day":
            return [self._choose_day(turn, form, arg)]
        if action == "from" and arg in self.itinerary.start_places and form.step == "from":
            turn.form = form.at("at", start_place=arg)
            return [self._ask_time(turn.t)]
        if action == "at" and arg and form.step == "at":
            return [self._choose_time(turn, form, arg)]
        return [self._repeat(form, turn.t)]

    async def on_text(self, turn: Turn, form: FormState, text: str) -> list[Reply]:
        """Typed answers: a date or a time; anything else repeats the question."""
        cleaned = text.strip()
        if form.step == "day" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
            return [self._choose_day(turn, form, cleaned)]
        if form.step == "at" and TIME.fullmatch(cleaned):
            return [self._choose_time(turn, form, cleaned)]
        return [self._repeat(form, turn.t)]

    # steps ---------------------------------------------------------------------------

    def _toggle(self, turn: Turn, form: FormState, site: str) -> Reply:
        chosen = list(form.data.get("sites", []))
        chosen = [s for s in chosen if s != site] if site in chosen else [*chosen, site]
        turn.form = FormState(PLAN, "sites", {"sites": chosen})
        return self._ask_sites(turn.form, turn.t)

    def _done(self, turn: Turn, form: FormState) -> Reply:
        if not form.data.get("sites"):
            return self._ask_sites(form, turn.t, turn.t.gettext("Please pick at least one site."))
        turn.form = form.at("day")
        return self._ask_day(turn.t)

    def _ask_sites(self, form: FormState, t: Translator, note: str | None = None) -> Reply:
        chosen = form.data.get("sites", [])
        lines = [note] if note else []
        lines.append(t.gettext("Which sites do you want to film? Tap to add or remove, then Done."))
        if chosen:
            names = ", ".join(self._name(site, t) for site in chosen)
            lines.append(t.gettext("Chosen: %(sites)s") % {"sites": names})
        buttons = [
            Button(
                ("✅ " if site in chosen else "") + self._name(site, t), encode(PLAN, "site", site)
            )
            for site in self.itinerary.sites
        ]
        buttons += [Button(t.gettext(DONE_LABEL), encode(PLAN, "done")), _cancel(t)]
        return Reply("\n".join(lines), t.lang, tuple(buttons))

    def _ask_day(self, t: Translator, note: str | None = None) -> Reply:
        today = self.itinerary.today()
        days = [today + timedelta(days=n) for n in range(DAYS_OFFERED)]
        buttons = [
            Button(
                format_date(day, "EEE d MMM", locale=t.locale), encode(PLAN, "day", day.isoformat())
            )
            for day in days
        ]
        text = t.gettext("Which day? Pick one or type a date as YYYY-MM-DD.")
        return Reply("\n".join(filter(None, [note, text])), t.lang, (*buttons, _cancel(t)))

    def _choose_day(self, turn: Turn, form: FormState, value: str) -> Reply:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return self._ask_day(turn.t, turn.t.gettext("That is not a valid date."))
        if day < self.itinerary.today():
            return self._ask_day(turn.t, turn.t.gettext("That date has passed."))
        turn.form = form.at("from", day=day.isoformat())
        return self._ask_place(turn.t)

    def _ask_place(self, t: Translator) -> Reply:
        travel = self.itinerary.planner.travel.start_places
        buttons = [
            Button(place.name.get(t.lang) or place.name["en"], encode(PLAN, "from", pid))
            for pid, place in travel.items()
        ]
        return Reply(t.gettext("Where do you start from?"), t.lang, (*buttons, _cancel(t)))

    def _ask_time(self, t: Translator, note: str | None = None) -> Reply:
        buttons = [Button(at, encode(PLAN, "at", at)) for at in START_TIMES]
        text = t.gettext("What time do you start? Pick one or type it as HH:MM.")
        return Reply("\n".join(filter(None, [note, text])), t.lang, (*buttons, _cancel(t)))

    def _choose_time(self, turn: Turn, form: FormState, value: str) -> Reply:
        found = TIME.fullmatch(value)
        if not found or int(found[1]) > 23 or int(found[2]) > 59:
            return self._ask_time(turn.t, turn.t.gettext("That is not a valid time."))
        data = form.data
        if not all(key in data for key in ("sites", "day", "start_place")):
            return self._repeat(form, turn.t)  # an out-of-order button from an old message
        day, start = date.fromisoformat(data["day"]), time(int(found[1]), int(found[2]))
        plan = self.itinerary.plan(data["sites"], day, data["start_place"], start)
        turn.form = None
        return plan_reply(plan, self.itinerary.planner, turn.t, self.itinerary.clock())

    def _repeat(self, form: FormState, t: Translator) -> Reply:
        """The current step again, saying how to answer it ("no", "ok" are no answer)."""
        if form.step == "day":
            question = self._ask_day(t)
        elif form.step == "from":
            question = self._ask_place(t)
        elif form.step == "at":
            question = self._ask_time(t)
        else:
            question = self._ask_sites(form, t)
        return replace(question, text=f"{t.gettext(USE_BUTTONS)}\n{question.text}")

    def _name(self, site: str, t: Translator) -> str:
        topic = self.knowledge.topic(site)
        return topic.name(t.lang) if topic else site


def _cancel(t: Translator) -> Button:
    return Button(t.gettext(CANCEL_LABEL), encode(PLAN, "cancel"))


def coming_soon(t: Translator) -> Reply:
    """A feature whose data has errors right now."""
    text = t.gettext("This is coming soon. Meanwhile, ask me about the interview routes: /routes")
    return Reply(text, t.lang)
