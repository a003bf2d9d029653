"""The day-plan conversation: sites, day, start place, start time, then the plan.

Its state is a small dict in the core's conversation store, so it works the same on every
channel; buttons become numbered lines where a channel has none.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any

from babel.dates import format_date

from bot.core.payloads import PlanPress, encode
from bot.core.types import Button, Reply
from bot.i18n import N_, Translator
from bot.itinerary.service import ItineraryService
from bot.knowledge.service import KnowledgeService

Form = dict[str, Any]
START_TIMES = ("08:00", "09:00", "10:00", "13:00")
DAYS_OFFERED = 7
CANCEL_WORDS = frozenset(
    {"cancel", "/cancel", "取消", "annuler", "cancelar", "отмена", "إلغاء", "ghairi"}
)
DONE_LABEL = N_("Done")
CANCEL_LABEL = N_("Cancel")


class PlanFlow:
    def __init__(self, itinerary: ItineraryService, knowledge: KnowledgeService) -> None:
        self.itinerary = itinerary
        self.knowledge = knowledge

    def start(self, text: str, t: Translator) -> tuple[Reply, Form | None]:
        """Begin, with any sites the request names already chosen."""
        form: Form = {
            "kind": "plan",
            "step": "sites",
            "sites": self.knowledge.named_topics(text, "route"),
        }
        return self._ask_sites(form, t), form

    def press(self, form: Form, press: PlanPress, t: Translator) -> tuple[Reply, Form | None]:
        if press.action == "cancel":
            return Reply(t.gettext("Planning cancelled."), t.lang), None
        if press.action == "site" and press.arg in self.itinerary.sites:
            chosen = form["sites"]
            form["sites"] = (
                [s for s in chosen if s != press.arg]
                if press.arg in chosen
                else [*chosen, press.arg]
            )
            return self._ask_sites(form, t), form
        if press.action == "done":
            if not form["sites"]:
                return self._ask_sites(form, t, t.gettext("Please pick at least one site.")), form
            form["step"] = "day"
            return self._ask_day(t), form
        if press.action == "day" and press.arg:
            return self._choose_day(form, press.arg, t)
        if press.action == "from" and press.arg in self.itinerary.start_places:
            form.update(step="at", start_place=press.arg)
            return self._ask_time(t), form
        if press.action == "at" and press.arg:
            return self._choose_time(form, press.arg, t)
        return self._repeat(form, t), form

    def text(self, form: Form, text: str, t: Translator) -> tuple[Reply, Form | None]:
        """Typed answers: a date, a time, or cancel; anything else repeats the question."""
        cleaned = text.strip().lower()
        if cleaned in CANCEL_WORDS:
            return Reply(t.gettext("Planning cancelled."), t.lang), None
        if form["step"] == "day" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
            return self._choose_day(form, cleaned, t)
        if form["step"] == "at" and re.fullmatch(r"\d{1,2}:\d{2}", cleaned):
            return self._choose_time(form, cleaned, t)
        return self._repeat(form, t), form

    # steps ---------------------------------------------------------------------------

    def _ask_sites(self, form: Form, t: Translator, note: str | None = None) -> Reply:
        names = [self._name(site, t) for site in form["sites"]]
        lines = [note] if note else []
        lines.append(t.gettext("Which sites do you want to film? Tap to add or remove, then Done."))
        if names:
            lines.append(t.gettext("Chosen: %(sites)s") % {"sites": ", ".join(names)})
        buttons = [
            Button(("✅ " if site in form["sites"] else "") + self._name(site, t),
                   encode(PlanPress("site", site)))
            for site in self.itinerary.sites
        ]  # fmt: skip
        buttons += [Button(t.gettext(DONE_LABEL), encode(PlanPress("done"))), self._cancel(t)]
        return Reply("\n".join(lines), t.lang, tuple(buttons))

    def _ask_day(self, t: Translator, note: str | None = None) -> Reply:
        today = self.itinerary.today()
        days = [today + timedelta(days=n) for n in range(DAYS_OFFERED)]
        buttons = [
            Button(format_date(day, "EEE d MMM", locale=t.locale),
                   encode(PlanPress("day", day.isoformat())))
            for day in days
        ]  # fmt: skip
        text = t.gettext("Which day? Pick one or type a date as YYYY-MM-DD.")
        return Reply("\n".join(filter(None, [note, text])), t.lang, (*buttons, self._cancel(t)))

    def _choose_day(self, form: Form, value: str, t: Translator) -> tuple[Reply, Form | None]:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return self._ask_day(t, t.gettext("That is not a valid date.")), form
        if day < self.itinerary.today():
            return self._ask_day(t, t.gettext("That date has passed.")), form
        form.update(step="from", day=day.isoformat())
        return self._ask_place(t), form

    def _ask_place(self, t: Translator) -> Reply:
        travel = self.itinerary.planner.travel.start_places
        buttons = [
            Button(place.name.get(t.lang) or place.name["en"], encode(PlanPress("from", pid)))
            for pid, place in travel.items()
        ]
        return Reply(t.gettext("Where do you start from?"), t.lang, (*buttons, self._cancel(t)))

    def _ask_time(self, t: Translator, note: str | None = None) -> Reply:
        buttons = [Button(at, encode(PlanPress("at", at))) for at in START_TIMES]
        text = t.gettext("What time do you start? Pick one or type it as HH:MM.")
        return Reply("\n".join(filter(None, [note, text])), t.lang, (*buttons, self._cancel(t)))

    def _choose_time(self, form: Form, value: str, t: Translator) -> tuple[Reply, Form | None]:
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            return self._ask_time(t, t.gettext("That is not a valid time.")), form
        start = time(int(hour), int(minute))
        plan = self.itinerary.plan(
            form["sites"], date.fromisoformat(form["day"]), form["start_place"], start
        )
        return self.itinerary.reply(plan, t), None

    def _repeat(self, form: Form, t: Translator) -> Reply:
        step = form.get("step")
        if step == "day":
            return self._ask_day(t)
        if step == "from":
            return self._ask_place(t)
        if step == "at":
            return self._ask_time(t)
        return self._ask_sites(form, t)

    def _name(self, site: str, t: Translator) -> str:
        topic = self.knowledge.topic(site)
        return topic.name(t.lang) if topic else site

    def _cancel(self, t: Translator) -> Button:
        return Button(t.gettext(CANCEL_LABEL), encode(PlanPress("cancel")))
