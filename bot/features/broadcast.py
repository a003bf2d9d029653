"""Staff broadcasts in the chat: the /broadcast form (audience, text, other-language
versions, preview, send or schedule), /broadcasts, /broadcast_cancel, and the progress
message that the running bot edits as the outbox delivers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.broadcast.repository import Broadcast, Draft, Person, Report
from bot.broadcast.service import (
    HEARTBEAT,
    SHANGHAI,
    Audience,
    BroadcastError,
    BroadcastService,
    Progress,
    parse_audience,
    parse_when,
    progress_of,
)
from bot.core.delivery import Delivery, Editor, Sender
from bot.core.dispatcher import Command, Registry, Turn
from bot.core.outbox import BROADCAST
from bot.core.payloads import Press, encode
from bot.core.repositories import Outbox, Outgoing, Transactions
from bot.core.state import FormState
from bot.core.types import Button, Channel, Reply
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Translator, translator

FORM = "bcast"  # form and press kind: bcast:v1:<action>[:<arg>…]
BAR_WIDTH = 12
LIST_LIMIT = 10
ONLY_STAFF = N_("Sorry, this command is for the centre's staff only.")
ASK_TEXT = N_("Write the message in %(language)s. It is sent exactly as you type it.")


FormPress = Callable[[Turn, FormState, tuple[str, ...]], Awaitable[list[Reply]]]


def message_for(texts: Mapping[str, str], default_lang: str, lang: str) -> Reply:
    """What one recipient gets: their language's version, else the default one, marked."""
    if lang in texts:
        return Reply(f"📢 {texts[lang]}", lang)
    note = translator(lang).gettext(
        "(This announcement has no version in your language; here it is in %(language)s.)"
    ) % {"language": LANGUAGE_NAMES.get(default_lang, default_lang)}
    return Reply(f"📢 {texts[default_lang]}\n\n{note}", lang)


def progress_bar(done: int, total: int) -> str:
    """▓▓▓░░░ with the percentage."""
    share = done / total if total else 1.0
    filled = round(share * BAR_WIDTH)
    return f"{'▓' * filled}{'░' * (BAR_WIDTH - filled)} {share:.0%}"


class BroadcastFeature:
    """Staff broadcasts: the form, the list, cancelling, and progress reports."""

    kind = FORM

    def __init__(
        self,
        service: BroadcastService,
        outbox: Outbox,
        transactions: Transactions,
        tour_ids: Callable[[], Sequence[str]],
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.transactions = transactions
        self.tour_ids = tour_ids
        self._shown: dict[int, str] = {}  # the progress text last shown, per broadcast

    def register(self, registry: Registry) -> None:
        """Staff commands, the form and its buttons."""
        for command in (
            Command("broadcast", self.start, N_("send an announcement"), staff_only=True),
            Command("broadcasts", self.list_command, N_("recent broadcasts"), staff_only=True),
            Command(
                "broadcast_cancel", self.cancel_command, N_("stop a broadcast"), staff_only=True
            ),
        ):
            registry.command(command)
        registry.form(self)
        registry.press(FORM, self.on_press_outside_form)

    # creating ---------------------------------------------------------------------------

    async def queue(
        self, draft: Draft, audience: Audience, me: Person | None = None,
        report: Report | None = None,
    ) -> Broadcast:  # fmt: skip
        """The broadcast and one outbox row per recipient, in one transaction."""
        async with self.transactions.transaction():
            people = _unique(await self.service.recipients(audience, me))
            created = await self.service.create(draft, len(people), report)
            await self.outbox.enqueue([self._row(created, p) for p in people])
        return created

    def _row(self, broadcast: Broadcast, person: Person) -> Outgoing:
        reply = message_for(broadcast.texts, broadcast.default_lang, person.lang)
        return Outgoing(
            Channel(person.channel), person.chat_id, reply, BROADCAST,
            f"broadcast:{broadcast.id}:{person.channel}:{person.user_id}", person.user_id,
            due_at=broadcast.scheduled_at, broadcast_id=broadcast.id,
        )  # fmt: skip

    # the form ---------------------------------------------------------------------------

    async def start(self, turn: Turn, args: str) -> list[Reply]:
        """/broadcast: choose the audience."""
        turn.form = FormState(FORM, "audience", {"texts": {}, "lang": turn.lang})
        return [self._audiences(turn.t)]

    def _audiences(self, t: Translator) -> Reply:
        buttons = [
            Button(t.gettext("All subscribers"), encode(FORM, "aud", "all")),
            Button(t.gettext("Subscribers of one language…"), encode(FORM, "langs")),
            Button(t.gettext("Only me (a test)"), encode(FORM, "aud", "me")),
        ]
        for tour in self.tour_ids():
            for status, label in (("confirmed", N_("Tour %(tour)s: confirmed")),
                                  ("waitlisted", N_("Tour %(tour)s: waitlist"))):  # fmt: skip
                payload = _payload("aud", "tour", tour, status)
                if payload:
                    buttons.append(Button(t.gettext(label) % {"tour": tour}, payload))
        buttons.append(_quit(t))
        return Reply(t.gettext("Who should receive the broadcast?"), t.lang, tuple(buttons))

    async def on_press(self, turn: Turn, form: FormState, press: Press) -> list[Reply]:
        """A button of the open form."""
        if not turn.is_staff:
            turn.form = None
            return [Reply(turn.t.gettext(ONLY_STAFF), turn.lang)]
        action, args = press.arg(0), press.args[1:]
        if action == "quit":
            turn.form = None
            return await self.on_cancel(turn, form)
        if action == "stop":
            return await self.on_press_outside_form(turn, press)
        handler = self._form_presses().get(action or "")
        return await handler(turn, form, args) if handler else [self._ask(turn, form)]

    def _form_presses(self) -> dict[str, FormPress]:
        return {"aud": self._chose_audience, "langs": self._language_choice,
                "add": self._add_version, "at": self._ask_when, "send": self._send}  # fmt: skip

    async def _chose_audience(
        self, turn: Turn, form: FormState, args: tuple[str, ...]
    ) -> list[Reply]:
        try:
            audience = parse_audience(":".join(args), frozenset(LANGUAGES))
        except BroadcastError:
            return [self._audiences(turn.t)]
        turn.form = form.at("text", audience=str(audience), version=form.data["lang"])
        return [self._ask(turn, turn.form)]

    async def _language_choice(
        self, turn: Turn, form: FormState, args: tuple[str, ...]
    ) -> list[Reply]:
        t = turn.t
        buttons = tuple(Button(name, encode(FORM, "aud", "lang", code))
                        for code, name in LANGUAGE_NAMES.items())  # fmt: skip
        return [Reply(t.gettext("Subscribers of which language?"), t.lang, (*buttons, _quit(t)))]

    async def _add_version(self, turn: Turn, form: FormState, args: tuple[str, ...]) -> list[Reply]:
        t = turn.t
        if args and args[0] in LANGUAGES:
            turn.form = form.at("text", version=args[0])
            return [self._ask(turn, turn.form)]
        missing = [c for c in LANGUAGE_NAMES if c not in form.data["texts"]]
        buttons = tuple(Button(LANGUAGE_NAMES[c], encode(FORM, "add", c)) for c in missing)
        return [Reply(t.gettext("Which language is the next version in?"), t.lang,
                      (*buttons, _quit(t)))]  # fmt: skip

    async def _ask_when(self, turn: Turn, form: FormState, args: tuple[str, ...]) -> list[Reply]:
        turn.form = form.at("when")
        return [self._ask(turn, turn.form)]

    async def on_text(self, turn: Turn, form: FormState, text: str) -> list[Reply]:
        """The message, a version in another language, or the time to send at."""
        if not turn.is_staff:
            turn.form = None
            return [Reply(turn.t.gettext(ONLY_STAFF), turn.lang)]
        if form.step == "text" and text.strip():
            texts = {**form.data["texts"], form.data["version"]: text.strip()}
            turn.form = form.at("review", texts=texts)
            return await self._preview(turn, turn.form)
        if form.step == "when":
            return await self._scheduled(turn, form, text)
        return [self._ask(turn, form)]

    async def _scheduled(self, turn: Turn, form: FormState, text: str) -> list[Reply]:
        try:
            moment = parse_when(text)
        except BroadcastError:
            return [self._ask(turn, form, turn.t.gettext("I could not read that time."))]
        if moment.timestamp() <= self.service.clock():
            return [self._ask(turn, form, turn.t.gettext("That time has passed."))]
        turn.form = form.at("review", at=moment.timestamp(), zone=str(moment.tzinfo))
        return await self._preview(turn, turn.form)

    def _ask(self, turn: Turn, form: FormState, note: str | None = None) -> Reply:
        t = turn.t
        if form.step == "review":
            return self._review_buttons(t, form, "")
        if form.step == "when":
            text = t.gettext("When should it be sent? For example 2025-06-01 09:00 (Beijing "
                             "time), or add a zone: 2025-06-01 09:00 Europe/Paris")  # fmt: skip
        elif form.step == "text":
            name = LANGUAGE_NAMES.get(form.data["version"], form.data["version"])
            text = t.gettext(ASK_TEXT) % {"language": name}
        else:
            return self._audiences(t)
        return Reply("\n".join(filter(None, [note, text])), t.lang, (_quit(t),))

    async def _preview(self, turn: Turn, form: FormState) -> list[Reply]:
        t, data = turn.t, form.data
        people = await self.service.recipients(self._audience(form), self._me(turn))
        head = t.ngettext(
            "Preview, exactly as %(count)d recipient will see it (%(audience)s):",
            "Preview, exactly as %(count)d recipients will see it (%(audience)s):",
            len(people),
        ) % {"count": len(people), "audience": data["audience"]}
        samples = [message_for(data["texts"], data["lang"], lang) for lang in data["texts"]]
        others = [c for c in LANGUAGES if c not in data["texts"]]
        if others:  # what someone without a version of their own gets
            samples.append(message_for(data["texts"], data["lang"], others[0]))
        return [Reply(head, t.lang), *samples, self._review_buttons(t, form, "")]

    def _review_buttons(self, t: Translator, form: FormState, note: str) -> Reply:
        when = form.data.get("at")
        if when:
            moment = datetime.fromtimestamp(float(when), _zone(form.data.get("zone")))
            text = t.gettext("It will be sent at %(when)s.") % {"when": t.datetime(moment)}
            send = Button(t.gettext("Confirm the schedule"), encode(FORM, "send"))
        else:
            text = t.gettext("Send it now, or schedule it?")
            send = Button(t.gettext("Send now"), encode(FORM, "send"))
        add = Button(t.gettext("Add a version in another language"), encode(FORM, "add"))
        buttons = (send, add, Button(t.gettext("Schedule…"), encode(FORM, "at")), _quit(t))
        return Reply("\n".join(filter(None, [note, text])), t.lang, buttons)

    async def _send(self, turn: Turn, form: FormState, args: tuple[str, ...]) -> list[Reply]:
        if form.step != "review":
            return [self._ask(turn, form)]
        turn.form = None
        data, msg, t = form.data, turn.msg, turn.t
        who = f"{msg.channel.value}:{msg.user_id}"
        at = float(data.get("at") or self.service.clock())
        draft = Draft(who, data["audience"], data["texts"], data["lang"], at,
                      self._audience(form).subscribers_only)  # fmt: skip
        report = Report(msg.channel.value, msg.chat_id, turn.lang)
        created = await self.queue(draft, self._audience(form), self._me(turn), report)
        text = t.ngettext(
            "Broadcast #%(id)d is queued for %(count)d person. Progress will appear here.",
            "Broadcast #%(id)d is queued for %(count)d people. Progress will appear here.",
            created.recipients,
        ) % {"id": created.id, "count": created.recipients}
        return [Reply(text, t.lang, (_stop(t, created.id),))]

    async def on_cancel(self, turn: Turn, form: FormState) -> list[Reply]:
        """The form was left: nothing was queued."""
        return [Reply(turn.t.gettext("Nothing was sent."), turn.lang)]

    def _audience(self, form: FormState) -> Audience:
        return parse_audience(str(form.data["audience"]), frozenset(LANGUAGES))

    def _me(self, turn: Turn) -> Person:
        msg = turn.msg
        return Person(msg.channel.value, msg.user_id, msg.chat_id, turn.lang)

    # listing and cancelling ------------------------------------------------------------

    async def on_press_outside_form(self, turn: Turn, press: Press) -> list[Reply]:
        """A Stop button under a progress message (staff only, checked here: presses
        pass no command check)."""
        if not turn.is_staff:
            return [Reply(turn.t.gettext(ONLY_STAFF), turn.lang)]
        if press.arg(0) == "stop" and (press.arg(1) or "").isdigit():
            return await self.cancel_command(turn, press.arg(1) or "")
        return [Reply(turn.t.gettext("This form is closed. Start again with /broadcast."),
                      turn.lang)]  # fmt: skip

    async def list_command(self, turn: Turn, args: str) -> list[Reply]:
        """/broadcasts: the latest ones with their counts."""
        t = turn.t
        recent = await self.service.recent(LIST_LIMIT)
        if not recent:
            return [Reply(t.gettext("No broadcasts yet."), t.lang)]
        lines = [self._summary(b, t) for b in recent]
        running = [b for b in recent if b.status == "queued"]
        return [Reply("\n\n".join(lines), t.lang, tuple(_stop(t, b.id) for b in running))]

    async def cancel_command(self, turn: Turn, args: str) -> list[Reply]:
        """/broadcast_cancel ID: the unsent rest is dropped; what was sent stays sent."""
        t, word = turn.t, args.strip().lstrip("#")
        if not word.isdigit():
            return [Reply(t.gettext("Usage: /broadcast_cancel ID (see /broadcasts)"), t.lang)]
        who = f"{turn.msg.channel.value}:{turn.msg.user_id}"
        if await self.service.cancel(int(word), who):
            text = t.gettext("Broadcast #%(id)d is stopped; what was sent stays sent.")
        else:
            text = t.gettext("Broadcast #%(id)d is not running.")
        return [Reply(text % {"id": int(word)}, t.lang)]

    def _summary(self, broadcast: Broadcast, t: Translator) -> str:
        p = progress_of(broadcast)
        when = datetime.fromtimestamp(broadcast.created_at, _zone(None))
        head = t.gettext("#%(id)d %(when)s, by %(who)s, to %(audience)s: %(status)s") % {
            "id": broadcast.id, "when": t.datetime(when, "short"), "who": broadcast.created_by,
            "audience": broadcast.audience, "status": _status_label(broadcast, p, t)}  # fmt: skip
        return "\n".join([head, progress_bar(p.total - p.pending, p.total), counts_line(p, t)])

    # progress ---------------------------------------------------------------------------

    async def report_progress(self, senders: Mapping[Channel, Sender]) -> int:
        """One round of progress messages (edited in place where the channel can);
        broadcasts with nothing left to send get their final report. How many shown."""
        now = self.service.clock()
        await self.service.store.beat(HEARTBEAT, now)
        shown = 0
        for broadcast in await self.service.store.open_reports():
            p = progress_of(broadcast)
            if broadcast.scheduled_at > now and not p.sent:
                continue  # not started: the confirmation said when
            shown += await self._show(broadcast, p, senders)
            if p.finished:
                await self.service.store.finish(broadcast.id, now)
                self._shown.pop(broadcast.id, None)
        return shown

    async def _show(
        self, broadcast: Broadcast, p: Progress, senders: Mapping[Channel, Sender]
    ) -> int:
        report = broadcast.report
        sender = senders.get(Channel(report.channel)) if report else None
        if report is None or sender is None:
            return 0
        t = translator(report.lang)
        reply = self.progress_reply(broadcast, p, t)
        if self._shown.get(broadcast.id) == reply.text:
            return 0
        if isinstance(sender, Editor) and report.message_id:
            result = await sender.edit(report.chat_id, report.message_id, reply)
        elif isinstance(sender, Editor) or p.finished:  # no edits: only the final report
            result = await sender.send(report.chat_id, reply)
            if result.message_id and not p.finished:
                await self.service.store.set_report_message(broadcast.id, result.message_id)
        else:
            return 0
        if result.status is Delivery.SENT:
            self._shown[broadcast.id] = reply.text
        return 1

    def progress_reply(self, broadcast: Broadcast, p: Progress, t: Translator) -> Reply:
        """The progress message: a bar, the counts, and a Stop button while it runs."""
        head = t.gettext("📢 Broadcast #%(id)d to %(audience)s: %(status)s") % {
            "id": broadcast.id, "audience": broadcast.audience,
            "status": _status_label(broadcast, p, t)}  # fmt: skip
        lines = [head, progress_bar(p.total - p.pending, p.total), counts_line(p, t)]
        running = not p.finished and broadcast.status == "queued"
        return Reply("\n".join(lines), t.lang, (_stop(t, broadcast.id),) if running else ())


def counts_line(p: Progress, t: Translator) -> str:
    """Sent, pending, blocked, failed, outside the reply window, skipped, cancelled."""
    return t.gettext(
        "sent %(sent)d · pending %(pending)d · blocked %(blocked)d · failed %(failed)d · "
        "outside the reply window %(window)d · unsubscribed %(skipped)d · cancelled "
        "%(cancelled)d"
    ) % {"sent": p.sent, "pending": p.pending, "blocked": p.blocked, "failed": p.failed,
         "window": p.outside_window, "skipped": p.skipped, "cancelled": p.cancelled}  # fmt: skip


def _status_label(broadcast: Broadcast, p: Progress, t: Translator) -> str:
    if broadcast.status == "cancelled":
        return t.gettext("cancelled")
    if p.finished:
        return t.gettext("finished")
    return t.gettext("sending") if p.total - p.pending else t.gettext("waiting")


def _quit(t: Translator) -> Button:
    return Button(t.gettext("Cancel"), encode(FORM, "quit"))


def _stop(t: Translator, broadcast_id: int) -> Button:
    return Button(t.gettext("Stop #%(id)d") % {"id": broadcast_id},
                  encode(FORM, "stop", str(broadcast_id)))  # fmt: skip


def _payload(*args: str) -> str | None:
    """A button payload, or None when a long tour id would not fit in 64 bytes."""
    try:
        return encode(FORM, *args)
    except ValueError:
        return None


def _zone(name: object) -> ZoneInfo:
    """The zone a schedule was given in, for showing it back; Beijing time otherwise."""
    try:
        return ZoneInfo(str(name)) if name else SHANGHAI
    except (ValueError, KeyError):  # a fixed offset such as UTC+02:00 is no zone name
        return SHANGHAI


def _unique(people: list[Person]) -> list[Person]:
    seen: dict[tuple[str, str], Person] = {}
    for person in people:
        seen.setdefault((person.channel, person.user_id), person)
    return list(seen.values())
