"""Media-tour RSVPs in the chat: tours, the booking form, bookings, cancellation, staff
lists, exports and check-in; promotions and reminders go through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core import replies
from bot.core.dispatcher import Command, Registry, Turn
from bot.core.payloads import Press, encode
from bot.core.repositories import SETTLES, AuditLog, Outbox, Outgoing, Transactions
from bot.core.state import FormState
from bot.core.types import Attachment, Button, Channel, Reply
from bot.features.answers import TOPIC
from bot.i18n import N_, Translator, translator
from bot.itinerary.ics import Event, calendar
from bot.knowledge.service import KnowledgeService
from bot.rsvp.service import Booking, Person, RsvpError, RsvpService
from bot.rsvp.tours import Tour

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A confirmation reply not acknowledged as delivered within this time is sent again.
BACKUP_DELAY_S = 120.0
RSVP = "rsvp"  # press and form kind: rsvp:v1:<tour>:<action>
TOURS = "tours"  # press kind of the list of tours (offered beside answers: see features/ask)
LIMITS = {"name": 100, "outlet": 200, "role": 100, "contact": 200}
EXTRA_ANSWER_LIMIT = 300
QUESTIONS = {
    "name": N_("Your full name?"),
    "outlet": N_("Your media outlet?"),
    "role": N_("Your role (reporter, camera, producer…)?"),
    "contact": N_("A phone number or e-mail for the organisers (optional)?"),
}
SAMPLE_NOTE = N_("Sample tour: an example of what the centre offers, not yet open for booking.")
STATUS_LABELS = {"confirmed": N_("confirmed"), "waitlisted": N_("waitlisted"),
                 "cancelled": N_("cancelled")}  # fmt: skip
TOO_LONG = N_("Please answer in %(count)d characters or fewer, and not empty.")
NOT_AN_ANSWER = N_("Please type the answer itself (or tap Cancel to stop).")
# Yes, no and ok in the eight languages: replies to the bot, never a name or an outlet.
YES_NO = frozenset(
    {"ok", "okay", "yes", "no", "oui", "non", "d'accord", "si", "sí", "vale", "sim", "não",
     "nao", "да", "нет", "ок", "ndiyo", "hapana", "sawa", "好", "好的", "是", "是的", "不",
     "不是", "否", "没有", "نعم", "لا", "حسنا"}
)  # fmt: skip
CSV_HEADERS = (
    N_("Check-in code"), N_("Status"), N_("Waitlist position"), N_("Name"), N_("Media outlet"),
    N_("Role"), N_("Contact"), N_("Language"), N_("Checked in"),
)  # fmt: skip


def _steps(tour: Tour) -> list[str]:
    """The form's steps: the standard questions, the tour's own, then consent."""
    return ["name", "outlet", "role", "contact", *(f"q:{qid}" for qid, _ in tour.questions),
            "consent"]  # fmt: skip


class RsvpFeature:
    """Tours and bookings for reporters; lists, exports and check-in for staff."""

    kind = RSVP

    def __init__(
        self,
        service: RsvpService,
        knowledge: KnowledgeService,
        outbox: Outbox,
        transactions: Transactions,
        clock: Callable[[], datetime],
        retention_days: int = 30,
        audit: AuditLog | None = None,
    ) -> None:
        self.service = service
        self.knowledge = knowledge
        self.outbox = outbox
        self.transactions = transactions
        self.clock = clock
        self.retention_days = retention_days
        self.audit = audit

    def register(self, registry: Registry) -> None:
        """Commands, the form, its buttons, the tours intent, deep links and /forget."""
        for command in (
            Command("tours", self.tours_command, N_("media tours and RSVPs")),
            Command("mytours", self.mytours, N_("your tour bookings")),
            Command("rsvps", self.staff_list, N_("list a tour's RSVPs"), staff_only=True),
            Command(
                "export", self.staff_export, N_("export a tour's RSVPs as CSV"), staff_only=True
            ),
            Command(
                "checkin", self.staff_checkin, N_("check a reporter in by code"), staff_only=True
            ),
        ):
            registry.command(command)
        registry.form(self)
        registry.press(RSVP, self.on_press_outside_form)
        registry.press(TOURS, self.on_tours_press)
        registry.intent("tours", self.tours_command)
        registry.deep_link("tour_", self.on_deep_link)
        registry.on_forget(self.forget)
        registry.on_export(self.service.export_person)

    # listing ----------------------------------------------------------------------------

    async def tours_command(self, turn: Turn, args: str) -> list[Reply]:
        """The upcoming tours, with an RSVP button for each one still open."""
        return [await self.tours_reply(turn.t)]

    async def tours_reply(self, t: Translator) -> Reply:
        """The upcoming tours, soonest first."""
        now = self.clock()
        upcoming = sorted(
            (x for x in self.service.tours.values() if x.end > now), key=lambda x: x.start
        )
        if not upcoming:
            return Reply(t.gettext("There are no upcoming media tours at the moment."), t.lang)
        blocks, buttons = [], []
        for tour in upcoming:
            blocks.append(await self._describe(tour, t))
            if self.service.bookable(tour):
                label = t.gettext("RSVP: %(tour)s") % {"tour": _pick(tour.title, t.lang)}
                buttons.append(Button(label[:60], encode(RSVP, tour.id, "join")))
        return Reply("\n\n".join(blocks), t.lang, tuple(buttons))

    async def on_deep_link(self, turn: Turn, tour_id: str) -> list[Reply]:
        """t.me/bot?start=tour_<id> shows that tour."""
        return [await self.show(tour_id, turn.t)]

    async def show(self, tour_id: str, t: Translator) -> Reply:
        """One tour, with its RSVP button and a button per stop."""
        tour = self.service.tours.get(tour_id)
        if tour is None:
            return await self.tours_reply(t)
        buttons: tuple[Button, ...] = ()
        if self.service.bookable(tour):
            buttons = (Button(t.gettext("RSVP"), encode(RSVP, tour.id, "join")),)
        stops = tuple(  # each stop opens its route topic
            Button(topic.name(t.lang), encode(TOPIC, topic.id))
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
        elif not self.service.bookable(tour):
            lines.append(t.gettext(SAMPLE_NOTE))
        return "\n".join(lines)

    async def mytours(self, turn: Turn, args: str) -> list[Reply]:
        """The person's bookings, each with a cancel button."""
        t = turn.t
        bookings = await self.service.bookings_of(turn.msg.channel.value, turn.msg.user_id)
        if not bookings:
            return [Reply(t.gettext("You have no tour bookings. See /tours."), t.lang)]
        lines, buttons = [], []
        for booking in bookings:
            tour = self.service.tours[booking.tour_id]
            lines.append(f"🚌 {_pick(tour.title, t.lang)}: {_status(booking, t)}")
            label = t.gettext("Cancel: %(tour)s") % {"tour": _pick(tour.title, t.lang)}
            buttons.append(Button(label[:60], encode(RSVP, tour.id, "cancel")))
        return [Reply("\n".join(lines), t.lang, tuple(buttons))]

    # jobs -------------------------------------------------------------------------------

    async def queue_due_reminders(self) -> int:
        """Move the reminders now due into the outbox, each claimed in the same
        transaction as its outbox row: a crash loses none and queues none twice."""
        async with self.transactions.transaction():
            claimed = await self.service.claim_due_reminders()
            return await self.outbox.enqueue([self._reminder(k, b) for k, b in claimed])

    def _reminder(self, kind: str, booking: Booking) -> Outgoing:
        # Both reminders read the same; the start time in the text tells them apart.
        t = translator(booking.lang)
        tour = self.service.tours[booking.tour_id]
        lines = [
            t.gettext("Reminder: %(tour)s starts %(when)s.") % {
                "tour": _pick(tour.title, t.lang),
                "when": t.datetime(tour.start.astimezone(SHANGHAI), "full")},
            t.gettext("Meeting point: %(place)s") % {"place": _pick(tour.meeting_point, t.lang)},
            t.gettext("Check-in code: %(code)s") % {"code": booking.code},
        ]  # fmt: skip
        return _to(
            booking, Reply("\n".join(lines), t.lang), "reminder", f"reminder:{booking.id}:{kind}"
        )

    async def purge(self) -> int:
        """Delete personal data of tours that ended more than the retention period ago."""
        return await self.service.purge(self.retention_days)

    # staff ------------------------------------------------------------------------------

    async def staff_list(self, turn: Turn, args: str) -> list[Reply]:
        """/rsvps TOUR: who is confirmed, and how many wait."""
        t, tour_id = turn.t, _first_word(args)
        if tour_id not in self.service.tours:
            return [self._usage("/rsvps", t)]
        bookings = await self.service.bookings(tour_id)
        confirmed = [b for b in bookings if b.status == "confirmed"]
        waiting = len(bookings) - len(confirmed)
        head = t.gettext("%(tour)s: %(confirmed)d confirmed, %(waiting)d on the waitlist")
        lines = [head % {"tour": tour_id, "confirmed": len(confirmed), "waiting": waiting}]
        lines += [
            f"{b.code} {'✅' if b.checked_in else '  '} {b.name} ({b.outlet})" for b in confirmed
        ]
        return [Reply("\n".join(lines), t.lang)]

    async def staff_export(self, turn: Turn, args: str) -> list[Reply]:
        """/export TOUR: the attendees as a CSV file, headers in the staff member's language."""
        t, tour_id = turn.t, _first_word(args)
        if tour_id not in self.service.tours:
            return [self._usage("/export", t)]
        data = await export_csv(self.service, tour_id, t)
        await self._record(turn, "export", tour_id)
        attachment = Attachment(f"{tour_id}-rsvps.csv", data, "text/csv")
        text = t.gettext("Attendees of %(tour)s:") % {"tour": tour_id}
        return [Reply(text, t.lang, attachment=attachment)]

    async def staff_checkin(self, turn: Turn, args: str) -> list[Reply]:
        """/checkin CODE: mark the reporter as arrived; a second time says when they came."""
        t, code = turn.t, _first_word(args)
        if not code:
            return [self._usage("/checkin", t)]
        booking, before = await self.service.check_in(code)
        if booking is None or not booking.checked_in:
            text = t.gettext("No confirmed booking has the code %(code)s.") % {"code": code[:12]}
            return [Reply(text, t.lang)]
        if before and booking.checked_in_at is not None:
            when = datetime.fromtimestamp(booking.checked_in_at, SHANGHAI)
            text = t.gettext("%(name)s (%(outlet)s) was already checked in at %(when)s.") % {
                "name": booking.name,
                "outlet": booking.outlet,
                "when": t.datetime(when, "short"),
            }
            return [Reply(text, t.lang)]
        await self._record(turn, "checkin", booking.code)
        text = t.gettext("Checked in: %(name)s (%(outlet)s).") % {
            "name": booking.name,
            "outlet": booking.outlet,
        }
        return [Reply(text, t.lang)]

    async def _record(self, turn: Turn, action: str, detail: str) -> None:
        if self.audit is not None:
            actor = f"{turn.msg.channel.value}:{turn.msg.user_id}"
            await self.audit.record(actor, action, detail)

    def _usage(self, command: str, t: Translator) -> Reply:
        if command == "/checkin":
            return Reply(t.gettext("Usage: /checkin CODE"), t.lang)
        usage = t.gettext("Usage: %(command)s TOUR. Tours: %(tours)s") % {
            "command": command, "tours": ", ".join(self.service.tours)}  # fmt: skip
        return Reply(usage, t.lang)

    # the form ---------------------------------------------------------------------------

    async def on_tours_press(self, turn: Turn, press: Press) -> list[Reply]:
        """The "upcoming media tours" button offered beside an answer."""
        return [await self.tours_reply(turn.t)]

    async def on_press_outside_form(self, turn: Turn, press: Press) -> list[Reply]:
        """An RSVP button with no RSVP form open: join, cancel, or show the tour."""
        tour_id, action = press.arg(0) or "", press.arg(1)
        if action == "cancel":
            return await self._cancel(turn, tour_id)
        if action == "join":
            return await self._join(turn, tour_id)
        return [await self.show(tour_id, turn.t)]

    async def on_press(self, turn: Turn, form: FormState, press: Press) -> list[Reply]:
        """A button of the open RSVP form."""
        tour_id, action = press.arg(0) or "", press.arg(1)
        if action in ("cancel", "join") or tour_id != form.data.get("tour"):
            return await self.on_press_outside_form(turn, press)
        if action in ("quit", "decline"):
            turn.form = None
            return await self.on_cancel(turn, form)
        if action == "skip" and form.step == "contact":
            turn.form = form.at(self._next_step(form), contact="")
            return [self._ask(turn.form, turn.t)]
        if action == "consent" and form.step == "consent":
            turn.form = None
            return await self._book(turn, form)
        return [self._ask(form, turn.t)]

    async def on_cancel(self, turn: Turn, form: FormState) -> list[Reply]:
        """The form was left: nothing is kept."""
        return [
            Reply(turn.t.gettext("No booking was made; your answers were not kept."), turn.lang)
        ]

    async def on_text(self, turn: Turn, form: FormState, text: str) -> list[Reply]:
        """An answer typed into the form: checked, kept, and the next question asked."""
        step = form.step
        limit = LIMITS.get(step, EXTRA_ANSWER_LIMIT if step.startswith("q:") else 0)
        if not limit:
            return [self._ask(form, turn.t)]
        answer = " ".join(text.split())
        if not answer or len(answer) > limit:
            return [self._ask(form, turn.t, turn.t.gettext(TOO_LONG) % {"count": limit})]
        if answer.strip(".!。！").casefold() in YES_NO and step in ("name", "outlet", "role"):
            # "ok" or "no" is a reply to the bot, not a name: ask again, saying what is wanted.
            return [self._ask(form, turn.t, turn.t.gettext(NOT_AN_ANSWER))]
        if answer.strip(".!。！").casefold() in YES_NO and step == "contact":
            answer = ""  # "no" to an optional phone number skips it
        if step.startswith("q:"):
            answers = {**form.data.get("answers", {}), step[2:]: answer}
            turn.form = form.at(self._next_step(form), answers=answers)
        else:
            turn.form = form.at(self._next_step(form), **{step: answer})
        return [self._ask(turn.form, turn.t)]

    def _next_step(self, form: FormState) -> str:
        steps = _steps(self.service.tours[form.data["tour"]])
        return steps[steps.index(form.step) + 1]

    async def _join(self, turn: Turn, tour_id: str) -> list[Reply]:
        msg, t = turn.msg, turn.t
        if msg.is_group:  # the form asks for a name and a phone number: not in a group
            return [replies.private_only(t.lang)]
        existing = await self.service.booking(tour_id, msg.channel.value, msg.user_id)
        if existing is not None and existing.status != "cancelled":
            return [Reply(_status(existing, t), t.lang)]
        tour = self.service.tours.get(tour_id)
        if tour is None or self.clock() >= tour.rsvp_closes:
            return [Reply(t.gettext("RSVPs for this tour are closed."), t.lang)]
        if not self.service.bookable(tour):
            return [Reply(t.gettext(SAMPLE_NOTE), t.lang)]
        turn.form = FormState(RSVP, "name", {"tour": tour_id})
        return [self._ask(turn.form, t)]

    def _ask(self, form: FormState, t: Translator, note: str | None = None) -> Reply:
        step, tour_id = form.step, form.data["tour"]
        quit_button = Button(t.gettext("Cancel"), encode(RSVP, tour_id, "quit"))
        if step == "consent":
            text = t.gettext(
                "May we keep these details to organise the tour, and delete them %(days)d days "
                "after it?"
            ) % {"days": self.retention_days}
            choices = (Button(t.gettext("Yes, book me"), encode(RSVP, tour_id, "consent")),
                       Button(t.gettext("No"), encode(RSVP, tour_id, "decline")))  # fmt: skip
            return Reply("\n".join(filter(None, [note, text])), t.lang, choices)
        buttons: tuple[Button, ...] = (quit_button,)
        if step.startswith("q:"):
            texts = dict(self.service.tours[tour_id].questions)[step[2:]]
            return Reply("\n".join(filter(None, [note, _pick(texts, t.lang)])), t.lang, buttons)
        if step == "contact":
            buttons = (Button(t.gettext("Skip"), encode(RSVP, tour_id, "skip")), quit_button)
        return Reply("\n".join(filter(None, [note, t.gettext(QUESTIONS[step])])), t.lang, buttons)

    async def _book(self, turn: Turn, form: FormState) -> list[Reply]:
        msg, t, data = turn.msg, turn.t, form.data
        extra = tuple(sorted(data.get("answers", {}).items()))
        person = Person(
            msg.channel.value, msg.user_id, msg.chat_id, t.lang, data["name"], data["outlet"],
            data.get("role", ""), data.get("contact", ""), extra,
        )  # fmt: skip
        try:
            async with self.transactions.transaction():
                booking = await self.service.request(data["tour"], person)
                reply = self._confirmation(booking, t)
                await self.outbox.enqueue([self._backup(booking, reply)])
        except RsvpError as exc:
            if str(exc) == "sample":
                return [Reply(t.gettext(SAMPLE_NOTE), t.lang)]
            return [Reply(t.gettext("RSVPs for this tour are closed."), t.lang)]
        return [reply]

    def _confirmation(self, booking: Booking, t: Translator) -> Reply:
        tour = self.service.tours[booking.tour_id]
        return Reply(_status(booking, t), t.lang, attachment=self._ics(tour, booking, t))

    def _backup(self, booking: Booking, reply: Reply) -> Outgoing:
        """The confirmation again, queued with the booking in one transaction and settled
        once the reply is delivered: a crash in between cannot leave someone booked and
        never told."""
        # The same booking pressed again gives the same key: queued once, settled once.
        key = f"confirmation:{booking.id}:{booking.code}:{booking.status}"
        reply.meta[SETTLES] = key
        return replace(_to(booking, reply, "confirmation", key), delay_s=BACKUP_DELAY_S)

    async def _cancel(self, turn: Turn, tour_id: str) -> list[Reply]:
        if tour_id not in self.service.tours:
            return [Reply(turn.t.gettext("You have no tour bookings. See /tours."), turn.lang)]
        async with self.transactions.transaction():
            promoted = await self.service.cancel(tour_id, turn.msg.channel.value, turn.msg.user_id)
            await self._announce([promoted] if promoted else [])
        return [Reply(turn.t.gettext("Your booking is cancelled."), turn.lang)]

    async def forget(self, channel: str, user_id: str) -> None:
        """Cancel and erase a person's bookings; whoever gets their seat is told."""
        async with self.transactions.transaction():
            await self._announce(await self.service.forget(channel, user_id))

    async def _announce(self, promoted: list[Booking]) -> None:
        await self.outbox.enqueue([self._promotion_notice(b) for b in promoted])

    def _promotion_notice(self, booking: Booking) -> Outgoing:
        """Told in the promoted person's own language, on their own channel."""
        t = translator(booking.lang)
        tour = self.service.tours[booking.tour_id]
        text = t.gettext("Good news: a seat is free and you are now confirmed for %(tour)s.") % {
            "tour": _pick(tour.title, t.lang)
        }
        reply = Reply(
            text + "\n" + _status(booking, t), t.lang, attachment=self._ics(tour, booking, t)
        )
        return _to(
            booking,
            reply,
            "promotion",
            f"promotion:{booking.id}:{booking.code}:{self.clock().timestamp()}",
        )

    def _ics(self, tour: Tour, booking: Booking, t: Translator) -> Attachment:
        where = (tour.meeting_lat, tour.meeting_lon)
        event = Event(
            uid=f"{tour.id}-{booking.code}@jinhua-press-bot",
            start=tour.start.astimezone(SHANGHAI),
            end=tour.end.astimezone(SHANGHAI),
            summary=_pick(tour.title, t.lang),
            location=" / ".join(
                filter(None, [tour.meeting_point.get("zh"), tour.meeting_point.get("en")])
            ),
            description=t.gettext("Check-in code: %(code)s") % {"code": booking.code},
            geo=(where[0], where[1]) if where[0] is not None and where[1] is not None else None,
        )
        return Attachment(f"{tour.id}.ics", calendar([event], self.clock()), "text/calendar")


async def export_csv(service: RsvpService, tour_id: str, t: Translator) -> bytes:
    """A tour's attendees as CSV for a staff member: headers, statuses and the extra
    questions' labels in their language."""
    statuses = {status: t.gettext(label) for status, label in STATUS_LABELS.items()}
    return await service.export_csv(
        tour_id, [t.gettext(h) for h in CSV_HEADERS], statuses, t.gettext("yes"), t.lang
    )


def _to(booking: Booking, reply: Reply, kind: str, key: str) -> Outgoing:
    return Outgoing(Channel(booking.channel), booking.chat_id, reply, kind, key, booking.user_id)


def _first_word(args: str) -> str:
    return args.split()[0] if args.split() else ""


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
