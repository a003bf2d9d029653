"""The person's own settings: greeting, help, language and subscription (the privacy
feature has /mydata and /forget; the rows kept here are exported and erased through it)."""

from __future__ import annotations

from dataclasses import replace

from bot.core.dispatcher import Command, Registry, Turn
from bot.core.payloads import MEMBER, Press, encode
from bot.core.repositories import Conversations, Subscribers
from bot.core.types import Button, Reply
from bot.features import answers
from bot.features.ask import welcome
from bot.i18n import LANGUAGE_NAMES, N_, supported

LANGUAGE = "lang"  # press kind: lang:v1:<code>
SUBSCRIBE = "sub"  # press kind: sub:v1:yes, the offer after the first /start


class AccountFeature:
    """/start, /help, /language, /subscribe and /unsubscribe."""

    def __init__(self, conversations: Conversations, subscribers: Subscribers) -> None:
        self.conversations = conversations
        self.subscribers = subscribers
        self.registry = Registry()

    def register(self, registry: Registry) -> None:
        """The account commands, the language buttons, and what /forget erases here."""
        self.registry = registry
        for command in (
            Command("start", self.start, N_("welcome and what I can do")),
            Command("help", self.help, N_("how to use this bot")),
            Command("language", self.language, N_("choose your language")),
            Command("subscribe", self.subscribe, N_("receive the centre's announcements")),
            Command("unsubscribe", self.unsubscribe, N_("stop the announcements")),
        ):
            registry.command(command)
        registry.press(LANGUAGE, self.on_language)
        registry.press(SUBSCRIBE, self.on_subscribe)
        registry.press(MEMBER, self.on_blocked)
        registry.intent("language", self.language_word)
        for rows in (self.conversations, self.subscribers):
            registry.on_export(rows.export_person)
            registry.on_forget(rows.erase_person)

    async def start(self, turn: Turn, args: str) -> list[Reply]:
        """Greets; a deep-link argument such as topic_shangshan-site opens that topic."""
        for prefix, handler in self.registry.deep_links.items():
            if args.startswith(prefix) and len(args) > len(prefix):
                return await handler(turn, args[len(prefix) :])
        greeting = welcome(turn)
        msg = turn.msg
        if turn.state.updated_at or await self.subscribers.is_subscribed(
            msg.channel.value, msg.user_id
        ):
            return [greeting]
        # Offered once: on the first /start of a conversation, as one more button.
        offer = Button(
            turn.t.gettext("Receive the centre's announcements"), encode(SUBSCRIBE, "yes")
        )
        return [replace(greeting, buttons=(*greeting.buttons, offer))]

    async def on_subscribe(self, turn: Turn, press: Press) -> list[Reply]:
        """The subscription button offered after /start."""
        return await self.subscribe(turn, "")

    async def on_blocked(self, turn: Turn, press: Press) -> list[Reply]:
        """The channel reports that the person blocked the bot: no more announcements,
        and nothing to answer (it could not be delivered)."""
        await self.subscribers.unsubscribe(turn.msg.channel.value, turn.msg.user_id)
        return []

    async def help(self, turn: Turn, args: str) -> list[Reply]:
        """The commands this person may use."""
        t = turn.t
        lines = [t.gettext("Ask me a question in your own words, or use a command:"), ""]
        for command in self.registry.commands.values():
            if turn.is_staff or not command.staff_only:
                lines.append(f"/{command.name} – {t.gettext(command.description)}")
        return [Reply("\n".join(lines), turn.lang, answers.menu_buttons(t))]

    async def language(self, turn: Turn, args: str) -> list[Reply]:
        """/language CODE sets it; /language alone shows the choices."""
        if args:
            return [self._set_language(turn, args)]
        buttons = tuple(
            Button(name, encode(LANGUAGE, code)) for code, name in LANGUAGE_NAMES.items()
        )
        return [Reply(turn.t.gettext("Choose your language:"), turn.lang, buttons)]

    async def language_word(self, turn: Turn, text: str) -> list[Reply]:
        """ "language", "语言", "langue" … typed alone: the choices, as /language shows them."""
        return await self.language(turn, "")

    async def on_language(self, turn: Turn, press: Press) -> list[Reply]:
        """A language button."""
        return [self._set_language(turn, press.arg(0) or "")]

    def _set_language(self, turn: Turn, code: str) -> Reply:
        lang = supported(code.strip().lower())
        if lang is None:
            text = turn.t.gettext("Unknown language “%(code)s”. Choose one of: %(choices)s") % {
                "code": code[:20],
                "choices": ", ".join(LANGUAGE_NAMES),
            }
            return Reply(text, turn.lang)
        turn.remember(lang=lang)
        turn.switch_language(lang)
        text = turn.t.gettext("From now on I will answer in %(language)s.") % {
            "language": LANGUAGE_NAMES[lang]
        }
        return Reply(text, lang)

    async def subscribe(self, turn: Turn, args: str) -> list[Reply]:
        """Announcements in the person's language, on this channel."""
        msg = turn.msg
        new = await self.subscribers.subscribe(
            msg.channel.value, msg.user_id, msg.chat_id, turn.lang
        )
        text = (
            turn.t.gettext("Subscribed: you will receive the centre's announcements.")
            if new
            else turn.t.gettext("You are already subscribed.")
        )
        return [Reply(text, turn.lang)]

    async def unsubscribe(self, turn: Turn, args: str) -> list[Reply]:
        """No more announcements."""
        removed = await self.subscribers.unsubscribe(turn.msg.channel.value, turn.msg.user_id)
        text = (
            turn.t.gettext("Unsubscribed: no more announcements.")
            if removed
            else turn.t.gettext("You were not subscribed.")
        )
        return [Reply(text, turn.lang)]
