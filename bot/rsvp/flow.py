"""The RSVP conversation: tours, the short form, bookings and cancellation, on any channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.payloads import RsvpPress, TopicPress, encode
from bot.core.types import Attachment, Button, Channel, Incoming, Recipient, Reply
from bot.i18n import N_, Translator, translator
from bot.itinerary.ics import Event, calendar
from bot.knowledge.service import KnowledgeService
from bot.rsvp.service import Booking, Person, RsvpError, RsvpService
from bot.rsvp.tours import Tour

SHANGHAI = ZoneInfo("Asia/Shanghai")
Form = dict[str, Any]
LIMITS = {"name": 100, "outlet": 200, "role": 100, "contact": 200}
EXTRA_ANSWER_LIMIT = 300
QUESTIONS = {
    "name": N_("Your full name?"),
    "outlet": N_("Your media outlet?"),
    "role": N_("Your role (reporter, camera, producer…)?"),
    "contact": N_("A phone number or e-mail for the organisers (optional)?"),
}
TOO_LONG = N_("Please answer in %(count)d characters or fewer, and not empty.")


def _steps(tour: Tour) -> list[str]:
    """The form's steps: the standard questions, the tour's own, then consent."""
    return [
        "name",
        "outlet",
        "role",
        "contact",
        *(f"q:{qid}" for qid, _ in tour.questions),
        "consent",
    ]


class RsvpFlow:
    def __init__(
        self,
        service: RsvpService,
        knowledge: KnowledgeService,
        clock: Callable[[], datetime],
        retention_days: int = 30,
    ) -> None:
        self.service = service
        self.knowledge = knowledge
        self.clock = clock
        self.retention_days = retention_days

    async def housekeeping(self) -> list[Reply]:
        """One background round: delete expired personal data, then the due reminders."""
        await self.service.purge(self.retention_days)
        return await self.due_reminders()

    # listing ----------------------------------------------------------------------------

    async def tours_reply(self, t: Translator) -> Reply:
        now = self.clock()
        upcoming = sorted(
            (x for x in self.service.tours.values() if x.end > now), key=lambda x: x.start
        )
        if not upcoming:
            return Reply(t.gettext("There are no upcoming media tours at the moment."), t.lang)
        blocks, buttons = [], []
        for tour in upcoming:
            blocks.append(await self._describe(tour, t))
            if now < tour.rsvp_closes:
                label = t.gettext("RSVP: %(tour)s") % {"tour": _pick(tour.title, t.lang)}
                buttons.append(Button(label[:60], encode(RsvpPress(tour.id, "join"))))
        return Reply("\n\n".join(blocks), t.lang, tuple(buttons))

    async def show(self, tour_id: str, t: Translator) -> Reply:
        tour = self.service.tours.get(tour_id)
        if tour is None:
            return await self.tours_reply(t)
        buttons: tuple[Button, ...] = ()
        if self.clock() < tour.rsvp_closes:
            buttons = (Button(t.gettext("RSVP"), encode(RsvpPress(tour.id, "join"))),)
        stops = tuple(  # each stop opens its route topic
            Button(topic.name(t.lang), encode(TopicPress(topic.id)))
            for s in tour.stops
            if (topic := self.knowledge.topic(s)) is not None
        )
        return Reply(await self._describe(tour, t), t.lang, buttons + stops)

    async def _describe(self, tour: Tour, t: Translator) -> str:
        stops = ", ".join(
            topic.name(t.lang) for s in tour.stops if (topic := self.knowledge.topic(s)) is not None
        )
        seats = await self.service.seats_left(tour.id)
        lines = [
            f"🚌 {_pick(tour.title, t.lang)}",
            t.datetime(tour.start.astimezone(SHANGHAI), "full"),
            _pick(tour.description, t.lang),
            t.gettext("Stops: %(stops)s") % {"stops": stops},
            t.gettext("Meeting point: %(place)s") % {"place": _pick(tour.meeting_point, t.lang)},
            t.ngettext("%(count)d seat left", "%(count)d seats left", seats) % {"count": seats},
        ]
        if self.clock() >= tour.rsvp_closes:
            lines.append(t.gettext("RSVPs for this tour are closed."))
        return "\n".join(lines)

    async def mytours(self, msg: Incoming, t: Translator) -> Reply:
        bookings = await self.service.bookings_of(msg.channel.value, msg.user_id)
        if not bookings:
            return Reply(t.gettext("You have no tour bookings. See /tours."), t.lang)
        lines, buttons = [], []
        for booking in bookings:
            tour = self.service.tours[booking.tour_id]
            lines.append(f"🚌 {_pick(tour.title, t.lang)}: {_status(booking, t)}")
            label = t.gettext("Cancel: %(tour)s") % {"tour": _pick(tour.title, t.lang)}
            buttons.append(Button(label[:60], encode(RsvpPress(tour.id, "cancel"))))
        return Reply("\n".join(lines), t.lang, tuple(buttons))

    async def due_reminders(self) -> list[Reply]:
        """The reminders now due, each addressed to its reporter in their language."""
        replies = []
        # Both reminders read the same; the start time in the text tells them apart.
        for _, booking in await self.service.claim_due_reminders():
            t = translator(booking.lang)
            tour = self.service.tours[booking.tour_id]
            text = t.gettext("Reminder: %(tour)s starts %(when)s.") % {
                "tour": _pick(tour.title, t.lang),
                "when": t.datetime(tour.start.astimezone(SHANGHAI), "full"),
            }
            text += "\n" + t.gettext("Meeting point: %(place)s") % {
                "place": _pick(tour.meeting_point, t.lang)
            }
            text += "\n" + t.gettext("Check-in code: %(code)s") % {"code": booking.code}
            replies.append(
                Reply(text, t.lang, recipient=Recipient(Channel(booking.channel), booking.chat_id))
            )
        return replies

    # staff ------------------------------------------------------------------------------

    async def staff_list(self, tour_id: str, t: Translator) -> Reply:
        if tour_id not in self.service.tours:
            return self._usage("/rsvps", t)
        bookings = await self.service.bookings(tour_id)
        confirmed = [b for b in bookings if b.status == "confirmed"]
        lines = [
            t.gettext("%(tour)s: %(confirmed)d confirmed, %(waiting)d on the waitlist")
            % {
                "tour": tour_id,
                "confirmed": len(confirmed),
                "waiting": len(bookings) - len(confirmed),
            }
        ]
        lines += [
            f"{b.code} {'✅' if b.checked_in else '  '} {b.name} ({b.outlet})" for b in confirmed
        ]
        return Reply("\n".join(lines), t.lang)

    async def staff_export(self, tour_id: str, t: Translator) -> Reply:
        if tour_id not in self.service.tours:
            return self._usage("/export", t)
        data = await self.service.export_csv(tour_id, [t.gettext(h) for h in CSV_HEADERS])
        attachment = Attachment(f"{tour_id}-rsvps.csv", data, "text/csv")
        return Reply(
            t.gettext("Attendees of %(tour)s:") % {"tour": tour_id}, t.lang, attachment=attachment
        )

    async def staff_checkin(self, code: str, t: Translator) -> Reply:
        if not code:
            return self._usage("/checkin", t)
        booking = await self.service.check_in(code)
        if booking is None or not booking.checked_in:
            return Reply(
                t.gettext("No confirmed booking has the code %(code)s.") % {"code": code[:12]},
                t.lang,
            )
        return Reply(
            t.gettext("Checked in: %(name)s (%(outlet)s).")
            % {"name": booking.name, "outlet": booking.outlet},
            t.lang,
        )

    def _usage(self, command: str, t: Translator) -> Reply:
        if command == "/checkin":
            usage = t.gettext("Usage: /checkin CODE")
        else:
            usage = t.gettext("Usage: %(command)s TOUR. Tours: %(tours)s") % {
                "command": command,
                "tours": ", ".join(self.service.tours),
            }
        return Reply(usage, t.lang)

    # the form ---------------------------------------------------------------------------

    async def press(
        self, msg: Incoming, form: Form | None, press: RsvpPress, t: Translator
    ) -> tuple[list[Reply], Form | None]:
        if press.action == "cancel":
            return await self._cancel(msg, press.tour_id, t), form
        if press.action == "join":
            return await self._join(msg, press.tour_id, t)
        if form is None or form.get("tour") != press.tour_id:
            return [await self.show(press.tour_id, t)], form
        if press.action == "quit" or press.action == "decline":
            return [
                Reply(t.gettext("No booking was made; your answers were not kept."), t.lang)
            ], None
        if press.action == "skip" and form["step"] == "contact":
            form.update(contact="", step=self._next_step(form))
            return [self._ask(form, t)], form
        if press.action == "consent" and form["step"] == "consent":
            return await self._book(msg, form, t), None
        return [self._ask(form, t)], form

    async def text(
        self, msg: Incoming, form: Form, text: str, t: Translator
    ) -> tuple[list[Reply], Form | None]:
        step = form["step"]
        if text.strip().lower() in (
            "cancel",
            "/cancel",
            "取消",
            "annuler",
            "cancelar",
            "отмена",
            "إلغاء",
            "ghairi",
        ):
            return [
                Reply(t.gettext("No booking was made; your answers were not kept."), t.lang)
            ], None
        limit = LIMITS.get(step, EXTRA_ANSWER_LIMIT if step.startswith("q:") else 0)
        if not limit:
            return [self._ask(form, t)], form
        answer = " ".join(text.split())
        if not answer or len(answer) > limit:
            note = t.gettext(TOO_LONG) % {"count": limit}
            return [self._ask(form, t, note)], form
        if step.startswith("q:"):
            form.setdefault("answers", {})[step[2:]] = answer
        else:
            form[step] = answer
        form["step"] = self._next_step(form)
        return [self._ask(form, t)], form

    def _next_step(self, form: Form) -> str:
        steps = _steps(self.service.tours[form["tour"]])
        return steps[steps.index(form["step"]) + 1]

    async def _join(
        self, msg: Incoming, tour_id: str, t: Translator
    ) -> tuple[list[Reply], Form | None]:
        existing = await self.service.booking(tour_id, msg.channel.value, msg.user_id)
        if existing is not None and existing.status != "cancelled":
            return [Reply(_status(existing, t), t.lang)], None
        tour = self.service.tours.get(tour_id)
        if tour is None or self.clock() >= tour.rsvp_closes:
            return [Reply(t.gettext("RSVPs for this tour are closed."), t.lang)], None
        form: Form = {"kind": "rsvp", "tour": tour_id, "step": "name"}
        return [self._ask(form, t)], form

    def _ask(self, form: Form, t: Translator, note: str | None = None) -> Reply:
        step, tour_id = form["step"], form["tour"]
        quit_button = Button(t.gettext("Cancel"), encode(RsvpPress(tour_id, "quit")))
        if step == "consent":
            text = t.gettext(
                "May we keep these details to organise the tour, and delete them %(days)d days "
                "after it?"
            ) % {"days": self.retention_days}
            answers = (Button(t.gettext("Yes, book me"), encode(RsvpPress(tour_id, "consent"))),
                       Button(t.gettext("No"), encode(RsvpPress(tour_id, "decline"))))  # fmt: skip
            return Reply("\n".join(filter(None, [note, text])), t.lang, answers)
        buttons: tuple[Button, ...] = (quit_button,)
        if step.startswith("q:"):
            texts = dict(self.service.tours[tour_id].questions)[step[2:]]
            return Reply("\n".join(filter(None, [note, _pick(texts, t.lang)])), t.lang, buttons)
        if step == "contact":
            buttons = (Button(t.gettext("Skip"), encode(RsvpPress(tour_id, "skip"))), quit_button)
        text = t.gettext(QUESTIONS[step])
        return Reply("\n".join(filter(None, [note, text])), t.lang, buttons)

    async def _book(self, msg: Incoming, form: Form, t: Translator) -> list[Reply]:
        answers = tuple(sorted((form.get("answers") or {}).items()))
        person = Person(
            msg.channel.value, msg.user_id, msg.chat_id, t.lang, form["name"], form["outlet"],
            form.get("role", ""), form.get("contact", ""), answers,
        )  # fmt: skip
        try:
            booking = await self.service.request(form["tour"], person)
        except RsvpError:
            return [Reply(t.gettext("RSVPs for this tour are closed."), t.lang)]
        tour = self.service.tours[booking.tour_id]
        return [Reply(_status(booking, t), t.lang, attachment=self._ics(tour, booking, t))]

    async def _cancel(self, msg: Incoming, tour_id: str, t: Translator) -> list[Reply]:
        if tour_id not in self.service.tours:
            return [Reply(t.gettext("You have no tour bookings. See /tours."), t.lang)]
        promoted = await self.service.cancel(tour_id, msg.channel.value, msg.user_id)
        replies = [Reply(t.gettext("Your booking is cancelled."), t.lang)]
        if promoted is not None:
            replies.append(self._promotion_notice(promoted))
        return replies

    def _promotion_notice(self, booking: Booking) -> Reply:
        """Told in the promoted person's own language, on their own channel."""
        t = translator(booking.lang)
        tour = self.service.tours[booking.tour_id]
        text = t.gettext("Good news: a seat is free and you are now confirmed for %(tour)s.") % {
            "tour": _pick(tour.title, t.lang)
        }
        text += "\n" + _status(booking, t)
        recipient = Recipient(Channel(booking.channel), booking.chat_id)
        return Reply(text, t.lang, attachment=self._ics(tour, booking, t), recipient=recipient)

    def _ics(self, tour: Tour, booking: Booking, t: Translator) -> Attachment:
        event = Event(
            uid=f"{tour.id}-{booking.code}@jinhua-press-bot",
            start=tour.start.astimezone(SHANGHAI),
            end=tour.end.astimezone(SHANGHAI),
            summary=_pick(tour.title, t.lang),
            location=" / ".join(
                filter(None, [tour.meeting_point.get("zh"), tour.meeting_point.get("en")])
            ),
            description=t.gettext("Check-in code: %(code)s") % {"code": booking.code},
            geo=(tour.meeting_lat, tour.meeting_lon)
            if tour.meeting_lat is not None and tour.meeting_lon is not None
            else None,
        )
        return Attachment(f"{tour.id}.ics", calendar([event], self.clock()), "text/calendar")


CSV_HEADERS = (
    N_("Check-in code"), N_("Status"), N_("Waitlist position"), N_("Name"), N_("Media outlet"),
    N_("Role"), N_("Contact"), N_("Language"), N_("Checked in"),
)  # fmt: skip


def _status(booking: Booking, t: Translator) -> str:
    if booking.status == "confirmed":
        return t.gettext("You are confirmed. Your check-in code is %(code)s.") % {
            "code": booking.code
        }
    return t.gettext(
        "You are on the waitlist, number %(position)d. We will tell you if a seat frees up."
    ) % {"position": booking.position}


def _pick(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()))
