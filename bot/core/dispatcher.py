"""The dispatcher: a table that features fill, routing one message to the feature that
registered it. The core knows no feature: only the kinds, commands and intents they declare.

Order: a press (or "2" for the second numbered choice), a command (after the staff check,
in this one place), text typed into an open form, an intent, then the fallback (questions).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from bot.core import replies
from bot.core.forms import Form, is_cancel
from bot.core.payloads import Press, decode
from bot.core.state import Conversation, FormState
from bot.core.types import Button, Incoming, Reply
from bot.i18n import Translator, translator

log = logging.getLogger(__name__)

# A numbered choice is at most this many digits: "12" is a choice, "2024" never is.
MAX_CHOICE_DIGITS = 2


@dataclass(slots=True)
class Turn:
    """One message being handled: who sent it, in which language, and the state to save."""

    msg: Incoming
    state: Conversation
    t: Translator
    is_staff: bool
    now: float = 0.0  # when the message is handled (the pipeline's clock)

    @property
    def lang(self) -> str:
        """The language of this turn's replies."""
        return self.t.lang

    @property
    def form(self) -> FormState | None:
        """The form open in this conversation, if any."""
        return self.state.form

    @form.setter
    def form(self, form: FormState | None) -> None:
        self.state = self.state.updated(form=form)

    def remember(self, **changes: object) -> None:
        """Change the conversation state saved after this turn."""
        self.state = self.state.updated(**changes)

    def switch_language(self, lang: str) -> None:
        """Answer in `lang` from this reply on."""
        self.t = translator(lang)


Handler = Callable[[Turn, str], Awaitable[list[Reply]]]
PressHandler = Callable[[Turn, Press], Awaitable[list[Reply]]]
IntentDetector = Callable[["Turn", str], Awaitable[str | None]]
ForgetHook = Callable[[str, str], Awaitable[None]]
ExportHook = Callable[[str, str], Awaitable[dict[str, list[dict[str, Any]]]]]
# Returns None when the replied-to message is none of the handler's business.
StaffReplyHandler = Callable[[Turn, str], Awaitable[list[Reply] | None]]
MenuButtons = Callable[[Translator], tuple[Button, ...]]


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command: its handler, a description marked with N_, and who may use it."""

    name: str
    handler: Handler
    description: str
    staff_only: bool = False


class Feature(Protocol):
    """A module of the bot: it registers its commands, presses, forms and intents."""

    def register(self, registry: Registry) -> None:
        """Add this feature's entries to the dispatcher's table."""
        ...


@dataclass(slots=True)
class Registry:
    """What the features declared; the dispatcher routes by it."""

    commands: dict[str, Command] = field(default_factory=dict)
    presses: dict[str, PressHandler] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)
    intents: dict[str, Handler] = field(default_factory=dict)
    deep_links: dict[str, Handler] = field(default_factory=dict)
    forget_hooks: list[ForgetHook] = field(default_factory=list)
    export_hooks: list[ExportHook] = field(default_factory=list)
    staff_reply: StaffReplyHandler | None = None
    fallback: Handler | None = None
    menu: MenuButtons = lambda t: ()

    def command(self, command: Command) -> None:
        """Register a slash command; a name may be taken once."""
        _claim(self.commands, command.name, command)

    def press(self, kind: str, handler: PressHandler) -> None:
        """Register the handler of a press kind (buttons outside an open form)."""
        _claim(self.presses, kind, handler)

    def form(self, form: Form) -> None:
        """Register a form; its kind is also the kind of its buttons."""
        _claim(self.forms, form.kind, form)

    def intent(self, name: str, handler: Handler) -> None:
        """Register what free text recognised as `name` (e.g. "plan") does."""
        _claim(self.intents, name, handler)

    def deep_link(self, prefix: str, handler: Handler) -> None:
        """Register a /start argument prefix (e.g. "tour_"); the handler gets the rest."""
        _claim(self.deep_links, prefix, handler)

    def on_forget(self, hook: ForgetHook) -> None:
        """Register what /forget erases: hook(channel, user_id)."""
        self.forget_hooks.append(hook)

    def on_export(self, hook: ExportHook) -> None:
        """Register what /mydata shows: hook(channel, user_id) -> rows by table; every
        on_forget hook that deletes rows has an export hook returning them."""
        self.export_hooks.append(hook)

    def on_staff_reply(self, handler: StaffReplyHandler) -> None:
        """Register what a staff member's reply to one of the bot's messages does."""
        if self.staff_reply is not None:
            raise ValueError("a staff reply handler is registered already")
        self.staff_reply = handler

    def set_menu(self, menu: MenuButtons) -> None:
        """The buttons offered when nothing else fits (an expired button, say)."""
        self.menu = menu

    def set_fallback(self, handler: Handler) -> None:
        """What free text that no form or intent took goes to (the questions)."""
        if self.fallback is not None:
            raise ValueError("a fallback is registered already")
        self.fallback = handler


V = TypeVar("V")


def _claim(table: dict[str, V], key: str, value: V) -> None:
    if key in table:
        raise ValueError(f"{key!r} is registered twice")
    table[key] = value


class Dispatcher:
    """Routes a turn to a feature by the registry's table; knows no feature itself."""

    def __init__(
        self,
        features: Sequence[Feature],
        staff_ids: frozenset[str] = frozenset(),
        detect_intent: IntentDetector | None = None,
        staff_chats: frozenset[str] = frozenset(),
    ) -> None:
        self.registry = Registry()
        for feature in features:
            feature.register(self.registry)
        self.staff_ids = staff_ids
        self.detect_intent = detect_intent or _no_intent
        self.staff_chats = staff_chats  # "telegram:-100123": groups where staff data may go

    def is_staff(self, msg: Incoming) -> bool:
        """Whether the sender is one of the configured staff ids ("telegram:123")."""
        return f"{msg.channel.value}:{msg.user_id}" in self.staff_ids

    def in_staff_chat(self, msg: Incoming) -> bool:
        """Whether the message was written in a configured staff group chat."""
        return f"{msg.channel.value}:{msg.chat_id}" in self.staff_chats

    def public_commands(self) -> list[tuple[str, str]]:
        """(name, untranslated description) of the commands everyone may use."""
        return [
            (c.name, c.description) for c in self.registry.commands.values() if not c.staff_only
        ]

    def visible_commands(self, turn: Turn) -> list[Command]:
        """The commands this person may use, in registration order."""
        return [c for c in self.registry.commands.values() if turn.is_staff or not c.staff_only]

    async def dispatch(self, turn: Turn) -> list[Reply]:
        """The replies to one message; the turn's state holds what to save."""
        text = turn.msg.text.strip()
        payload = turn.msg.payload or self._numbered_choice(turn, text)
        if payload is not None:
            return await self._press(turn, payload)
        if text.startswith("/") and text.lower() != "/cancel":
            turn.form = None  # a command leaves any form
            return await self._command(turn, text)
        if turn.msg.reply_to and turn.is_staff and self.registry.staff_reply is not None:
            answer = await self.registry.staff_reply(turn, text)
            if answer is not None:
                return answer
        if turn.form is not None:
            return await self._form_text(turn, turn.form, text)
        if is_cancel(text):
            return [replies.nothing_to_cancel(turn.lang, self.registry.menu(turn.t))]
        if turn.state.choices and _is_number(text):
            return [replies.choose_number(turn.lang, turn.state.choices)]
        return await self._free_text(turn, text)

    def _numbered_choice(self, turn: Turn, text: str) -> str | None:
        """Channels without buttons show numbered lines; "2" presses the second."""
        if _is_number(text) and 1 <= int(text) <= len(turn.state.choices):
            return turn.state.choices[int(text) - 1]
        return None

    async def _press(self, turn: Turn, payload: str) -> list[Reply]:
        press = decode(payload)
        form = turn.form
        if press is not None and form is not None and form.kind == press.kind:
            return await self.registry.forms[form.kind].on_press(turn, form, press)
        handler = self.registry.presses.get(press.kind) if press else None
        if handler is None:
            log.info("ignored an unknown or expired button")
            return [replies.expired_button(turn.lang, self.registry.menu(turn.t))]
        assert press is not None
        return await handler(turn, press)

    async def _command(self, turn: Turn, text: str) -> list[Reply]:
        head, *rest = text[1:].split(maxsplit=1) or [""]
        command = self.registry.commands.get(head.split("@")[0].lower())
        if command is None:
            return [replies.unknown_command(turn.lang, text.split()[0])]
        if command.staff_only and not turn.is_staff:
            return [replies.staff_only(turn.lang)]
        if command.staff_only and turn.msg.is_group and not self.in_staff_chat(turn.msg):
            return [replies.private_only(turn.lang)]  # staff data never goes into a group
        return await command.handler(turn, rest[0].strip() if rest else "")

    async def _form_text(self, turn: Turn, form: FormState, text: str) -> list[Reply]:
        handler = self.registry.forms.get(form.kind)
        if handler is None:  # a form of a feature no longer installed
            turn.form = None
            return await self._free_text(turn, text)
        if is_cancel(text):
            turn.form = None
            return await handler.on_cancel(turn, form)
        # The detector sees the open form and answers only what must leave it at once
        # ("I want to talk to someone"), by its words: a form step runs no model.
        intent = await self.detect_intent(turn, text)
        escape = self.registry.intents.get(intent) if intent else None
        if escape is not None:
            turn.form = None
            return [*await handler.on_cancel(turn, form), *await escape(turn, text)]
        return await handler.on_text(turn, form, text)

    async def _free_text(self, turn: Turn, text: str) -> list[Reply]:
        intent = await self.detect_intent(turn, text) if text else None
        handler = self.registry.intents.get(intent) if intent else None
        if handler is None:
            handler = self.registry.fallback
        if handler is None:
            return [replies.unknown_command(turn.lang, "?")]
        return await handler(turn, text)


def _is_number(text: str) -> bool:
    """ASCII digits only: "²" and "①" are digits to str.isdigit, not to int()."""
    return 0 < len(text) <= MAX_CHOICE_DIGITS and text.isascii() and text.isdigit()


async def _no_intent(turn: Turn, text: str) -> str | None:
    """The detector when none is configured: every text is a question."""
    return None
