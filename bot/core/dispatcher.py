"""The dispatcher: one Incoming in, a list of Replies out, the same for every channel."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core import answers
from bot.core.payloads import (
    LanguagePress,
    MenuPress,
    PlanPress,
    Press,
    RsvpPress,
    TopicPress,
    decode,
    encode,
)
from bot.core.types import Button, Incoming, Reply
from bot.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    N_,
    Translator,
    resolve_language,
    supported,
    translator,
)
from bot.itinerary.flow import PlanFlow
from bot.knowledge.engine import analyse
from bot.knowledge.lexicon import (
    ALL_STOPWORDS,
    GREETINGS,
    PLAN_PHRASES,
    THANKS,
    TOUR_PHRASES,
)
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.model import Answer, Outcome
from bot.knowledge.service import KnowledgeService
from bot.rsvp.flow import RsvpFlow
from bot.storage import Conversation, ConversationStore, SubscriberStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Turn:
    """One message being handled: who sent it, in which language, and the state to save."""

    msg: Incoming
    state: Conversation
    t: Translator
    is_staff: bool

    @property
    def lang(self) -> str:
        return self.t.lang


Handler = Callable[[Turn, str], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class Command:
    handler: Handler
    description: str  # marked with N_, translated when shown
    staff_only: bool = False


@dataclass(slots=True)
class Dispatcher:
    knowledge: KnowledgeService
    conversations: ConversationStore
    subscribers: SubscriberStore
    staff_ids: frozenset[str] = frozenset()
    plans: PlanFlow | None = None  # None when the travel table has errors
    rsvp: RsvpFlow | None = None
    commands: dict[str, Command] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.commands.update(
            {
                "start": Command(self._start, N_("welcome and what I can do")),
                "help": Command(self._help, N_("how to use this bot")),
                "routes": Command(self._menu("route"), N_("interview routes")),
                "events": Command(self._menu("event"), N_("events and programmes")),
                "faq": Command(self._menu("faq"), N_("practical help")),
                "tours": Command(self._tours, N_("media tours and RSVPs")),
                "mytours": Command(self._mytours, N_("your tour bookings")),
                "plan": Command(self._plan, N_("plan a day of interviews")),
                "language": Command(self._language, N_("choose your language")),
                "subscribe": Command(self._subscribe, N_("receive the centre's announcements")),
                "unsubscribe": Command(self._unsubscribe, N_("stop the announcements")),
                "forget": Command(self._forget, N_("delete what I remember about you")),
                "reload": Command(self._reload, N_("reload the knowledge base"), staff_only=True),
                "rsvps": Command(self._staff("list"), N_("list a tour's RSVPs"), staff_only=True),
                "export": Command(
                    self._staff("export"), N_("export a tour's RSVPs as CSV"), staff_only=True
                ),
                "checkin": Command(
                    self._staff("checkin"), N_("check a reporter in by code"), staff_only=True
                ),
            }
        )

    def public_commands(self) -> list[tuple[str, str]]:
        """(name, untranslated description) of the commands everyone may use."""
        return [(n, c.description) for n, c in self.commands.items() if not c.staff_only]

    def is_staff(self, msg: Incoming) -> bool:
        return f"{msg.channel.value}:{msg.user_id}" in self.staff_ids

    async def handle(self, msg: Incoming) -> list[Reply]:
        """Answer one message; a failure becomes an apology, never a dead bot."""
        try:
            return await self._handle(msg)
        except Exception:
            log.exception("failed to handle %s message from %s", msg.channel.value, msg.user_id)
            return [apology(supported(msg.locale_hint) or DEFAULT_LANGUAGE)]

    async def _handle(self, msg: Incoming) -> list[Reply]:
        """Answer one message and remember what the next one may refer to."""
        state = await self.conversations.get(msg.channel.value, msg.user_id)
        lang = resolve_language(
            state.lang,
            msg.locale_hint,
            msg.text,
            self.knowledge.guess_latin_language,
            state.last_lang,
        )
        turn = Turn(msg, state, translator(lang), self.is_staff(msg))
        replies = await self._route(turn)
        choices = tuple(b.payload for b in replies[-1].buttons) if replies else ()
        if turn.state.channel:  # /forget empties the state; nothing to save then
            await self.conversations.save(turn.state.updated(last_lang=turn.lang, choices=choices))
        return replies

    async def _route(self, turn: Turn) -> list[Reply]:
        text = turn.msg.text.strip()
        payload = turn.msg.payload or self._numbered_choice(turn, text)
        if payload is not None:
            return await self._press(turn, payload)
        if text.startswith("/") and text.lower() != "/cancel":
            turn.state = turn.state.updated(form=None)  # a command leaves any form
            return await self._command(turn, text)
        form = turn.state.form
        if form is not None and form.get("kind") == "rsvp" and self.rsvp is not None:
            replies, form = await self.rsvp.text(turn.msg, dict(form), text, turn.t)
            turn.state = turn.state.updated(form=form)
            return replies
        if form is not None and self.plans is not None:
            reply, form = self.plans.text(form, text, turn.t)
            turn.state = turn.state.updated(form=form)
            return [reply]
        if turn.state.choices and text.isdigit():
            return [self._choose_number(turn)]
        return [await self._ask_or_list_tours(turn, text)]

    def _numbered_choice(self, turn: Turn, text: str) -> str | None:
        """Channels without buttons show numbered lines; "2" presses the second."""
        if text.isdigit() and 1 <= int(text) <= len(turn.state.choices):
            return turn.state.choices[int(text) - 1]
        return None

    def _choose_number(self, turn: Turn) -> Reply:
        count = len(turn.state.choices)
        text = turn.t.gettext("Please choose a number from 1 to %(count)d.") % {"count": count}
        return Reply(
            text, turn.lang, tuple(Button(str(i + 1), p) for i, p in enumerate(turn.state.choices))
        )

    async def _press(self, turn: Turn, payload: str) -> list[Reply]:
        press = decode(payload)
        if press is None:
            log.info("ignored unknown payload %r", payload[:80])
            return [self._didnt_understand(turn)]
        if isinstance(press, RsvpPress):
            if self.rsvp is None:
                return [_coming_soon_reply(turn)]
            form = turn.state.form if (turn.state.form or {}).get("kind") == "rsvp" else None
            replies, form = await self.rsvp.press(turn.msg, form, press, turn.t)
            turn.state = turn.state.updated(form=form)
            return replies
        return [self._pressed(turn, press)]

    def _pressed(self, turn: Turn, press: Press) -> Reply:
        if isinstance(press, PlanPress):
            return self._plan_press(turn, press)
        if isinstance(press, TopicPress):
            topic = self.knowledge.topic(press.topic_id)
            if topic is None:
                return answers.no_match_reply(turn.t)
            facet = press.facet if press.facet in topic.facets else None
            turn.state = turn.state.updated(last_topic=topic.id)
            return answers.answer_reply(topic, facet, None, turn.t)
        if isinstance(press, MenuPress):
            return answers.kind_menu_reply(press.kind, self.knowledge, turn.t)
        assert isinstance(press, LanguagePress)
        return self._set_language(turn, press.lang)

    def _plan_press(self, turn: Turn, press: PlanPress) -> Reply:
        if self.plans is None or turn.state.form is None:
            return self._start_plan(turn, "")
        reply, form = self.plans.press(dict(turn.state.form), press, turn.t)
        turn.state = turn.state.updated(form=form)
        return reply

    def _start_plan(self, turn: Turn, text: str) -> Reply:
        if self.plans is None:
            return _coming_soon_reply(turn)
        reply, form = self.plans.start(text, turn.t)
        turn.state = turn.state.updated(form=form)
        return reply

    async def _plan(self, turn: Turn, args: str) -> list[Reply]:
        """Starts a day plan; sites named after /plan are chosen already."""
        return [self._start_plan(turn, args)]

    async def _ask_or_list_tours(self, turn: Turn, text: str) -> Reply:
        terms = analyse(text).all_terms
        if self.rsvp is not None and any(phrase <= terms for phrase in TOUR_PHRASES):
            return await self.rsvp.tours_reply(turn.t)
        return self._ask(turn, text)

    def _ask(self, turn: Turn, text: str) -> Reply:
        query = analyse(text)
        if query.empty:  # nothing but spaces, emoji or punctuation
            return self._didnt_understand(turn)
        if self.plans is not None and any(phrase <= query.all_terms for phrase in PLAN_PHRASES):
            return self._start_plan(turn, text)
        small_talk = self._small_talk(turn, query.all_terms)
        if small_talk is not None:
            return small_talk
        outcome = self.knowledge.ask(text, turn.state.last_topic)
        self._remember(turn, outcome)
        reply = answers.outcome_reply(outcome, self.knowledge, turn.t)
        return _with_meta(reply, outcome)

    def _remember(self, turn: Turn, outcome: Outcome) -> None:
        if isinstance(outcome, Answer):
            turn.state = turn.state.updated(last_topic=outcome.topic_id)

    def _small_talk(self, turn: Turn, terms: frozenset[str]) -> Reply | None:
        content = terms - ALL_STOPWORDS
        if content and content <= THANKS:
            return Reply(
                turn.t.gettext("You're welcome! Ask me anything else about Jinhua."), turn.lang
            )
        if content and content <= GREETINGS | THANKS:
            return self._welcome(turn)
        return None

    def _didnt_understand(self, turn: Turn) -> Reply:
        text = turn.t.gettext("I didn't catch a question. Type a question, or pick a topic:")
        return Reply(text, turn.lang, answers.menu_buttons(turn.t))

    def _welcome(self, turn: Turn) -> Reply:
        t = turn.t
        text = "\n\n".join(
            [
                t.gettext(
                    "Hello! I am the assistant of the Jinhua International Communication "
                    "Center. Ask me about interview routes, events and practical matters in "
                    "Jinhua, in your own language."
                ),
                t.gettext(
                    "For example: “How do I get to the Shangshan site?” or “When does Yiwu "
                    "market open?”"
                ),
            ]
        )
        return Reply(text, turn.lang, answers.menu_buttons(t))

    # Commands -------------------------------------------------------------------------

    async def _command(self, turn: Turn, text: str) -> list[Reply]:
        name, _, args = text[1:].partition(" ")
        command = self.commands.get(name.split("@")[0].lower())
        if command is None:
            message = turn.t.gettext(
                "Unknown command %(command)s. Type /help to see what I can do."
            ) % {"command": text.split()[0][:40]}
            return [Reply(message, turn.lang)]
        if command.staff_only and not turn.is_staff:
            return [
                Reply(
                    turn.t.gettext("Sorry, this command is for the centre's staff only."), turn.lang
                )
            ]
        return await command.handler(turn, args.strip())

    async def _start(self, turn: Turn, args: str) -> list[Reply]:
        """Greets; a deep-link payload such as topic_shangshan-site opens that topic."""
        if args.startswith("topic_") and self.knowledge.topic(args[6:]):
            return [self._pressed(turn, TopicPress(args[6:]))]
        if args.startswith("tour_") and self.rsvp is not None:
            return [await self.rsvp.show(args[5:], turn.t)]
        return [self._welcome(turn)]

    async def _help(self, turn: Turn, args: str) -> list[Reply]:
        t = turn.t
        lines = [t.gettext("Ask me a question in your own words, or use a command:"), ""]
        for name, command in self.commands.items():
            if not command.staff_only or turn.is_staff:
                lines.append(f"/{name} – {t.gettext(command.description)}")
        return [Reply("\n".join(lines), turn.lang, answers.menu_buttons(t))]

    def _menu(self, kind: str) -> Handler:
        async def show(turn: Turn, args: str) -> list[Reply]:
            return [answers.kind_menu_reply(kind, self.knowledge, turn.t)]

        return show

    async def _language(self, turn: Turn, args: str) -> list[Reply]:
        if args:
            return [self._set_language(turn, args)]
        buttons = tuple(
            Button(name, encode(LanguagePress(code))) for code, name in LANGUAGE_NAMES.items()
        )
        return [Reply(turn.t.gettext("Choose your language:"), turn.lang, buttons)]

    def _set_language(self, turn: Turn, code: str) -> Reply:
        lang = supported(code)
        if lang is None:
            text = turn.t.gettext("Unknown language “%(code)s”. Choose one of: %(choices)s") % {
                "code": code[:20],
                "choices": ", ".join(LANGUAGE_NAMES),
            }
            return Reply(text, turn.lang)
        turn.state = turn.state.updated(lang=lang)
        turn.t = translator(lang)
        text = turn.t.gettext("From now on I will answer in %(language)s.") % {
            "language": LANGUAGE_NAMES[lang]
        }
        return Reply(text, lang)

    async def _tours(self, turn: Turn, args: str) -> list[Reply]:
        if self.rsvp is None:
            return [_coming_soon_reply(turn)]
        return [await self.rsvp.tours_reply(turn.t)]

    def _staff(self, action: str) -> Handler:
        async def run(turn: Turn, args: str) -> list[Reply]:
            if self.rsvp is None:
                return [_coming_soon_reply(turn)]
            argument = args.split()[0] if args.split() else ""
            if action == "list":
                return [await self.rsvp.staff_list(argument, turn.t)]
            if action == "export":
                return [await self.rsvp.staff_export(argument, turn.t)]
            return [await self.rsvp.staff_checkin(argument, turn.t)]

        return run

    async def _mytours(self, turn: Turn, args: str) -> list[Reply]:
        if self.rsvp is None:
            return [_coming_soon_reply(turn)]
        return [await self.rsvp.mytours(turn.msg, turn.t)]

    async def _subscribe(self, turn: Turn, args: str) -> list[Reply]:
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

    async def _unsubscribe(self, turn: Turn, args: str) -> list[Reply]:
        removed = await self.subscribers.unsubscribe(turn.msg.channel.value, turn.msg.user_id)
        text = (
            turn.t.gettext("Unsubscribed: no more announcements.")
            if removed
            else turn.t.gettext("You were not subscribed.")
        )
        return [Reply(text, turn.lang)]

    async def _forget(self, turn: Turn, args: str) -> list[Reply]:
        await self.conversations.forget(turn.state.channel, turn.state.user_id)
        if self.rsvp is not None:  # bookings are personal data too; seats go to the waitlist
            await self.rsvp.service.forget(turn.msg.channel.value, turn.msg.user_id)
        turn.state = Conversation("", "")
        text = turn.t.gettext(
            "Done: I no longer remember your language, our conversation or your subscription."
        )
        return [Reply(text, turn.lang)]

    async def _reload(self, turn: Turn, args: str) -> list[Reply]:
        t = turn.t
        try:
            count = self.knowledge.reload()
        except KnowledgeError as exc:
            head = t.gettext("The knowledge base has errors; I keep using the previous version:")
            return [Reply("\n".join([head, *map(str, exc.errors[:10])]), turn.lang)]
        text = t.ngettext(
            "Knowledge base reloaded: %(count)d topic.",
            "Knowledge base reloaded: %(count)d topics.",
            count,
        ) % {"count": count}
        return [Reply(text, turn.lang)]


def _coming_soon_reply(turn: Turn) -> Reply:
    text = turn.t.gettext(
        "This is coming soon. Meanwhile, ask me about the interview routes: /routes"
    )
    return Reply(text, turn.lang)


def apology(lang: str) -> Reply:
    t = translator(lang)
    return Reply(t.gettext("Sorry, something went wrong on my side. Please try again."), lang)


def flood_notice(lang: str) -> Reply:
    t = translator(lang)
    text = t.gettext("You are sending messages very fast. Please wait a few seconds.")
    return Reply(text, lang)


def expired_button_notice(lang: str) -> str:
    return translator(lang).gettext("This button is no longer valid. Please ask again.")


def _with_meta(reply: Reply, outcome: Outcome) -> Reply:
    """Attach the typed outcome, which `ask --json`, the eval and the tests read."""
    reply.meta["outcome"] = outcome
    return reply
