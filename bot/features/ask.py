"""Questions in free text, topic buttons and the topic menus."""

from __future__ import annotations

import asyncio

from bot.core.dispatcher import Command, Handler, Registry, Turn
from bot.core.payloads import Press, encode
from bot.core.types import Button, Channel, Reply
from bot.features import answers
from bot.features.answers import MENU, TOPIC
from bot.features.intents import context
from bot.i18n import N_
from bot.knowledge.engine import analyse
from bot.knowledge.lexicon import (
    ACKNOWLEDGEMENTS,
    ALL_STOPWORDS,
    GREETINGS,
    NEGATIONS,
    PLAN_PHRASES,
    THANKS,
)
from bot.knowledge.model import Ambiguous, Answer, NoMatch, Outcome
from bot.knowledge.service import KnowledgeService
from bot.knowledge.text import asks
from bot.staffops.questions import QuestionsService

# An answer below this confidence is counted as not answered and kept for staff to review.
# Confidence is coverage x score/STRONG_SCORE: under 0.4 the answer rests on a weak or partial
# match. Not tuned on a question set yet; staff see these as "low confidence", not as wrong.
LOW_CONFIDENCE = 0.4


PLAN = "plan"  # the plans feature's press kind: any plan button starts a plan
PLAN_OFFER = N_("Plan a day")
TOURS = "tours"  # the RSVP feature's press kind for the list of tours
TOURS_OFFER = N_("Upcoming media tours")


class AskFeature:
    """Answers questions from the knowledge base, follows up on the last topic."""

    def __init__(
        self, knowledge: KnowledgeService, questions: QuestionsService | None = None
    ) -> None:
        self.knowledge = knowledge
        self.questions = questions

    def register(self, registry: Registry) -> None:
        """Topic menus as commands, topic and menu buttons, and free text."""
        for name, kind, description in (("routes", "route", N_("interview routes")),
                                        ("events", "event", N_("events and programmes")),
                                        ("faq", "faq", N_("practical help"))):  # fmt: skip
            registry.command(Command(name, self._menu_command(kind), description))
        registry.press(TOPIC, self.on_topic)
        registry.press(MENU, self.on_menu)
        registry.deep_link("topic_", self.on_deep_link)
        registry.set_fallback(self.on_text)
        registry.set_menu(answers.menu_buttons)

    def _menu_command(self, kind: str) -> Handler:
        """/routes, /events, /faq: the topics of one kind."""

        async def show(turn: Turn, args: str) -> list[Reply]:
            return [answers.kind_menu_reply(kind, self.knowledge, turn.t)]

        return show

    async def on_menu(self, turn: Turn, press: Press) -> list[Reply]:
        """A menu button: the topics of its kind."""
        return [answers.kind_menu_reply(press.arg(0) or "", self.knowledge, turn.t)]

    async def on_topic(self, turn: Turn, press: Press) -> list[Reply]:
        """A topic button: its overview or one facet."""
        return [self.topic_reply(turn, press.arg(0) or "", press.arg(1))]

    async def on_deep_link(self, turn: Turn, topic_id: str) -> list[Reply]:
        """t.me/bot?start=topic_<id> opens that topic."""
        return [self.topic_reply(turn, topic_id, None)]

    def topic_reply(self, turn: Turn, topic_id: str, facet: str | None) -> Reply:
        """A topic's overview or facet; remembered for follow-ups."""
        topic = self.knowledge.topic(topic_id)
        if topic is None:
            return answers.no_match_reply(turn.t)
        facet = facet if facet in topic.facets else None
        turn.remember(last_topic=topic.id, last_facet=facet)
        return answers.answer_reply(topic, facet, None, turn.t)

    async def on_text(self, turn: Turn, text: str) -> list[Reply]:
        """A question in the person's own words."""
        query = analyse(text)
        if query.empty and not (asks(text) and query.all_terms):  # "no", "🙂", "?"
            return [didnt_understand(turn)]
        small_talk = self._small_talk(turn, query.all_terms)
        if small_talk is not None:
            return [small_talk]
        # Off the event loop: the model may run (tens of ms) while other chats go on.
        outcome = await asyncio.to_thread(self.knowledge.ask, text, context(turn))
        self._remember(turn, outcome, text)
        await self._count(turn, outcome, text)
        reply = answers.outcome_reply(outcome, self.knowledge, turn.t)
        if _introduction_only(outcome, query.all_terms, text):
            reply = welcome(turn)  # "Bonjour ! Je suis journaliste à RFI." asks nothing yet
        if isinstance(outcome, Answer):
            reply = answers.with_buttons(reply, self._offers(turn, text, query.all_terms))
        reply.meta["outcome"] = outcome  # `ask --json`, the eval and the tests read it
        return [reply]

    def _offers(self, turn: Turn, text: str, terms: frozenset[str]) -> tuple[Button, ...]:
        """A day plan or the tours, when an answered question also mentions them ("we're
        planning a shoot: what's at Wuzhou?", "how do I sign up for the next media tour,
        what must I bring?"): the question is answered, the rest offered."""
        offers = []
        if any(p <= terms for p in PLAN_PHRASES):
            offers.append(Button(turn.t.gettext(PLAN_OFFER), encode(PLAN, "new")))
        intent = self.knowledge.intent(text)
        if intent is not None and intent.intent == "tours":
            offers.append(Button(turn.t.gettext(TOURS_OFFER), encode(TOURS, "list")))
        return tuple(offers)

    def _remember(self, turn: Turn, outcome: Outcome, text: str) -> None:
        if isinstance(outcome, Answer):
            turn.remember(last_topic=outcome.topic_id, last_facet=outcome.facet,
                          last_question=text[:500])  # fmt: skip
        else:  # "I land at Yiwu airport at 11 pm." explains the question that follows
            turn.remember(last_question=text[:500])

    async def _count(self, turn: Turn, outcome: Outcome, text: str) -> None:
        """Count the question; keep it for the staff when it was not answered well."""
        if self.questions is None or turn.msg.channel is Channel.BATCH:  # evals are not usage
            return
        answered = isinstance(outcome, Answer) and outcome.confidence >= LOW_CONFIDENCE
        guess = ""
        if isinstance(outcome, Answer):
            guess = outcome.topic_id
        elif isinstance(outcome, Ambiguous):
            guess = outcome.candidates[0]
        await self.questions.record(turn.msg.channel.value, turn.lang, answered, guess, text,
                                    outcome.confidence)  # fmt: skip

    def _small_talk(self, turn: Turn, terms: frozenset[str]) -> Reply | None:
        content = terms - ALL_STOPWORDS
        if content and content <= THANKS:
            return Reply(
                turn.t.gettext("You're welcome! Ask me anything else about Jinhua."), turn.lang
            )
        if content and content <= GREETINGS | THANKS:
            return welcome(turn)
        if terms & NEGATIONS and terms <= NEGATIONS | THANKS:  # "non", "нет", "no thanks"
            return didnt_understand(turn)
        if content and content <= ACKNOWLEDGEMENTS | THANKS:  # "ok", "好的", "sawa asante"
            text = turn.t.gettext("All right. Ask me anything else about Jinhua, or pick a topic:")
            return Reply(text, turn.lang, answers.menu_buttons(turn.t))
        return None


def _introduction_only(outcome: Outcome, terms: frozenset[str], text: str) -> bool:
    """A greeting with a few words about oneself and no question: welcome, not "can't help"."""
    return (
        isinstance(outcome, NoMatch)
        and outcome.facet is None
        and outcome.confusable is None
        and bool(terms & GREETINGS)
        and not any(mark in text for mark in "?？؟")
    )


def didnt_understand(turn: Turn) -> Reply:
    """Nothing that reads as a question."""
    text = turn.t.gettext("I didn't catch a question. Type a question, or pick a topic:")
    return Reply(text, turn.lang, answers.menu_buttons(turn.t))


def welcome(turn: Turn) -> Reply:
    """Who the bot is and what to ask, with the topic menu."""
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
