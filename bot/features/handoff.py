"""Handoffs: a person asks for a human; their messages go to the staff chat through the
outbox, staff reply (Telegram reply, or /reply ID text), and the reply reaches the person on
their own channel, in their language. /done on either side ends it; so does a quiet period.

The person never sees who on the staff answered: replies are signed by the centre.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Protocol

from bot.core import replies
from bot.core.dispatcher import Command, Registry, Turn
from bot.core.payloads import Press, encode
from bot.core.repositories import AuditLog, Outbox, Outgoing
from bot.core.state import FormState
from bot.core.types import Button, Channel, Recipient, Reply
from bot.features.answers import TOPIC
from bot.i18n import LANGUAGE_NAMES, N_, Translator, translator
from bot.knowledge.service import KnowledgeService
from bot.staffops.handoffs import Handoff, HandoffService, find_reference, parse_reference

HANDOFF = "handoff"  # form and press kind: handoff:v1:done
CONTACT_TOPIC = "contact"  # knowledge/faq/contact.yaml; its `contact` facet, once published
MAX_FORWARD = 3500  # characters of one forwarded message (Telegram allows 4096)


class KeyedMessages(Protocol):
    """Outbox rows about a person sent to someone else, found by their key's prefix."""

    async def export_keyed(self, prefix: str) -> dict[str, list[dict[str, Any]]]:
        """The rows whose key starts with `prefix`."""
        ...

    async def erase_keyed(self, prefix: str) -> None:
        """Delete the rows whose key starts with `prefix`."""
        ...


class PersonHandoffs(Protocol):
    """The handoff rows of one person, for /mydata and /forget."""

    async def ids_of(self, channel: str, user_id: str) -> list[int]:
        """Every handoff id of the person."""
        ...

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """The person's handoff rows."""
        ...

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete the person's handoff rows."""
        ...


def _key(handoff_id: int, what: str) -> str:
    """Outbox key of a handoff message; the prefix `handoff:<id>:` finds them all."""
    return f"handoff:{handoff_id}:{what}:{secrets.token_hex(6)}"


class HandoffFeature:
    """/human and the "human" intent, the open handoff as a form, staff /reply, /done and
    /handoffs, and the quiet-period job."""

    kind = HANDOFF

    def __init__(
        self,
        service: HandoffService,
        knowledge: KnowledgeService,
        outbox: Outbox,
        audit: AuditLog,
        staff_targets: Sequence[Recipient],
        staff_lang: str = "en",
    ) -> None:
        self.service = service
        self.knowledge = knowledge
        self.outbox = outbox
        self.audit = audit
        self.staff_targets = tuple(staff_targets)
        self.staff_t = translator(staff_lang)
        self.registry = Registry()

    def register(self, registry: Registry) -> None:
        """Commands, the intent, the form, its button, staff replies and /forget."""
        self.registry = registry
        for command in (
            Command("human", self.human, N_("talk to a person from the centre's staff")),
            Command("done", self.done, N_("end the conversation with the staff")),
            Command("reply", self.staff_reply_command, N_("answer a handoff: /reply ID text"),
                    staff_only=True),
            Command("handoffs", self.list_open, N_("open handoffs"), staff_only=True),
        ):  # fmt: skip
            registry.command(command)
        registry.intent("human", self.human)
        registry.form(self)
        registry.press(HANDOFF, self.on_press_outside_form)
        registry.on_staff_reply(self.on_staff_reply)

    def register_privacy(self, registry: Registry, handoffs: PersonHandoffs,
                         keyed: KeyedMessages) -> None:  # fmt: skip
        """/mydata and /forget: the person's handoffs and the messages forwarded for them."""

        async def export(channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
            found = await handoffs.export_person(channel, user_id)
            sent: list[dict[str, Any]] = []
            for handoff_id in await handoffs.ids_of(channel, user_id):
                sent += (await keyed.export_keyed(f"handoff:{handoff_id}:"))["outbox"]
            return {**found, "outbox": sent}

        async def erase(channel: str, user_id: str) -> None:
            for handoff_id in await handoffs.ids_of(channel, user_id):
                await keyed.erase_keyed(f"handoff:{handoff_id}:")
            await handoffs.erase_person(channel, user_id)

        registry.on_export(export)
        registry.on_forget(erase)

    # the person ---------------------------------------------------------------------------

    async def human(self, turn: Turn, text: str) -> list[Reply]:
        """Open (or continue) a handoff and pass the message on."""
        msg, t = turn.msg, turn.t
        if msg.is_group:
            return [replies.private_only(turn.lang)]
        handoff, new = await self.service.open(
            msg.channel.value, msg.user_id, msg.chat_id, msg.display_name, turn.lang
        )
        turn.form = FormState(HANDOFF, "open", {"id": handoff.id})
        await self._forward(handoff, text, opened=new)
        lines = [
            t.gettext(
                "I have passed your message to the press centre's staff. They will answer "
                "you here. Everything you write now goes to them; type /done to end."
            ),
            self._contacts(t),
        ]
        return [Reply("\n\n".join(lines), turn.lang, self._buttons(t))]

    def _contacts(self, t: Translator) -> str:
        """The press office's published contacts, or plainly that there are none yet."""
        topic = self.knowledge.topic(CONTACT_TOPIC)
        if topic is not None and "contact" in topic.facets:
            return topic.text(t.lang, "contact")
        return t.gettext("The press office has not published a phone number or e-mail address yet.")

    def _buttons(self, t: Translator) -> tuple[Button, ...]:
        end = Button(t.gettext("End the conversation"), encode(HANDOFF, "done"))
        topic = self.knowledge.topic(CONTACT_TOPIC)
        if topic is None:
            return (end,)
        return (end, Button(topic.name(t.lang)[:60], encode(TOPIC, topic.id)))

    async def on_text(self, turn: Turn, form: FormState, text: str) -> list[Reply]:
        """While a handoff is open, what the person writes goes to the staff."""
        handoff = await self.service.current(turn.msg.channel.value, turn.msg.user_id)
        if handoff is None:  # closed by the staff or gone quiet: back to questions
            turn.form = None
            fallback = self.registry.fallback
            return await fallback(turn, text) if fallback else []
        await self._forward(handoff, text, opened=False)
        await self.service.forwarded(handoff)
        ack = turn.t.gettext("Passed on to the staff.")
        return [Reply(ack, turn.lang, self._buttons(turn.t)[:1])]

    async def on_press(self, turn: Turn, form: FormState, press: Press) -> list[Reply]:
        """The form's one button: end the conversation."""
        return await self.on_press_outside_form(turn, press)

    async def on_press_outside_form(self, turn: Turn, press: Press) -> list[Reply]:
        """ "End the conversation", pressed in the chat or under a staff reply."""
        turn.form = None
        return await self._close_own(turn)

    async def on_cancel(self, turn: Turn, form: FormState) -> list[Reply]:
        """A cancel word ends the handoff too."""
        return await self._close_own(turn)

    async def done(self, turn: Turn, args: str) -> list[Reply]:
        """/done: the person ends their handoff; staff end one with /done ID."""
        handoff_id = parse_reference(args) if args else None
        if turn.is_staff and handoff_id is not None:
            return await self._staff_close(turn, handoff_id)
        return await self._close_own(turn)

    async def _close_own(self, turn: Turn) -> list[Reply]:
        t = turn.t
        handoff = await self.service.current(turn.msg.channel.value, turn.msg.user_id)
        if handoff is None or not await self.service.close(handoff.id):
            return [Reply(t.gettext("You have no open conversation with the staff."), t.lang)]
        note = self.staff_t.gettext("%(ref)s was closed by the person.") % {"ref": _ref(handoff)}
        await self._to_staff(handoff, note, "closed")
        text = t.gettext("The conversation with the staff has ended. Ask me anything else.")
        return [Reply(text, t.lang)]

    # the staff ----------------------------------------------------------------------------

    async def on_staff_reply(self, turn: Turn, text: str) -> list[Reply] | None:
        """A staff member's Telegram reply to a forwarded message goes to that person."""
        handoff_id = find_reference(turn.msg.reply_to)
        if handoff_id is None:
            return None
        return await self._deliver(turn, handoff_id, text)

    async def staff_reply_command(self, turn: Turn, args: str) -> list[Reply]:
        """/reply ID text."""
        ref, _, text = args.partition(" ")
        handoff_id = parse_reference(ref)
        if handoff_id is None or not text.strip():
            return [Reply(turn.t.gettext("Usage: /reply ID text, e.g. /reply 12 Hello"), turn.lang)]
        return await self._deliver(turn, handoff_id, text.strip())

    async def _deliver(self, turn: Turn, handoff_id: int, text: str) -> list[Reply]:
        t = turn.t
        handoff = await self.service.get(handoff_id)
        if handoff is None or handoff.status != "open":
            return [Reply(t.gettext("%(ref)s is not open.") % {"ref": f"#H{handoff_id}"}, t.lang)]
        theirs = translator(handoff.lang)
        head = theirs.gettext("Reply from the press centre's staff:")
        reply = Reply(f"{head}\n{text}", handoff.lang, self._buttons(theirs)[:1])
        await self.outbox.enqueue([_to_person(handoff, reply, _key(handoff.id, "reply"))])
        await self.service.answered(handoff)
        await self.audit.record(_actor(turn), "handoff-reply", _ref(handoff))
        return [Reply(t.gettext("Sent to %(ref)s.") % {"ref": _ref(handoff)}, t.lang)]

    async def _staff_close(self, turn: Turn, handoff_id: int) -> list[Reply]:
        t = turn.t
        handoff = await self.service.get(handoff_id)
        if handoff is None or not await self.service.close(handoff_id):
            return [Reply(t.gettext("%(ref)s is not open.") % {"ref": f"#H{handoff_id}"}, t.lang)]
        await self._tell_closed(handoff)
        await self.audit.record(_actor(turn), "handoff-close", _ref(handoff))
        return [Reply(t.gettext("%(ref)s is closed.") % {"ref": _ref(handoff)}, t.lang)]

    async def list_open(self, turn: Turn, args: str) -> list[Reply]:
        """/handoffs: the open ones, oldest first."""
        t = turn.t
        open_ones = await self.service.open_ones()
        if not open_ones:
            return [Reply(t.gettext("No open handoffs."), t.lang)]
        lines = [_summary(h, t) for h in open_ones]
        lines.append(t.gettext("Answer with /reply ID text; close with /done ID."))
        return [Reply("\n".join(lines), t.lang)]

    async def close_quiet(self) -> int:
        """Close handoffs quiet for too long, telling both sides; how many."""
        closed = await self.service.close_quiet()
        for handoff in closed:
            await self._tell_closed(handoff)
            note = self.staff_t.gettext("%(ref)s was closed after a quiet period.")
            await self._to_staff(handoff, note % {"ref": _ref(handoff)}, "closed")
        return len(closed)

    async def _tell_closed(self, handoff: Handoff) -> None:
        theirs = translator(handoff.lang)
        text = theirs.gettext(
            "The conversation with the staff has ended. You can ask me questions again, "
            "or type /human to reach the staff."
        )
        await self.outbox.enqueue(
            [_to_person(handoff, Reply(text, handoff.lang), _key(handoff.id, "closed"))]
        )

    # forwarding ---------------------------------------------------------------------------

    async def _forward(self, handoff: Handoff, text: str, opened: bool) -> None:
        """The person's message to the staff chat, tagged #H12 so a reply finds it."""
        t = self.staff_t
        header = _summary(handoff, t)
        if opened:
            header += "\n" + t.gettext(
                "Reply to this message to answer, or /reply %(id)d text; /done %(id)d closes."
            ) % {"id": handoff.id}
        body = text[:MAX_FORWARD] if text else t.gettext("(asked to talk to someone)")
        await self._to_staff(handoff, f"{header}\n\n{body}", "fwd")

    async def _to_staff(self, handoff: Handoff, text: str, what: str) -> None:
        reply = Reply(text, self.staff_t.lang)
        await self.outbox.enqueue(
            [Outgoing(r.channel, r.chat_id, reply, HANDOFF, _key(handoff.id, what))
             for r in self.staff_targets]
        )  # fmt: skip


def _ref(handoff: Handoff) -> str:
    return f"#H{handoff.id}"


def _actor(turn: Turn) -> str:
    return f"{turn.msg.channel.value}:{turn.msg.user_id}"


def _summary(handoff: Handoff, t: Translator) -> str:
    """'#H12 · Léa Martin · français · telegram'."""
    name = handoff.name or t.gettext("(no name)")
    language = LANGUAGE_NAMES.get(handoff.lang, handoff.lang)
    return f"{_ref(handoff)} · {name} · {language} · {handoff.channel}"


def _to_person(handoff: Handoff, reply: Reply, key: str) -> Outgoing:
    return Outgoing(Channel(handoff.channel), handoff.chat_id, reply, HANDOFF, key, handoff.user_id)


def staff_targets(staff_chat: str | None, staff_ids: frozenset[str]) -> list[Recipient]:
    """Where handoffs go: the staff chat ("telegram:-100123"), else each staff member."""
    wanted = [staff_chat] if staff_chat else sorted(staff_ids)
    targets = []
    for item in wanted:
        channel, _, chat_id = item.partition(":")
        if chat_id and channel in {c.value for c in Channel}:
            targets.append(Recipient(Channel(channel), chat_id))
    return targets
