"""Which intent free text expresses (a day plan, the media tours, a person, the language
menu) before it is read as a question about a topic."""

from __future__ import annotations

import asyncio

from bot.core.dispatcher import Turn
from bot.knowledge.model import Answer, AskContext
from bot.knowledge.service import KnowledgeService

# The word "language" typed alone, in the eight languages, acts like /language: on WeChat
# there is no command menu to find it, and WeChat tells us no language to start from.
LANGUAGE_WORDS = frozenset(
    {
        "language", "languages", "lang",  # en
        "语言", "語言", "语言设置",  # zh
        "langue", "langues",  # fr
        "idioma", "idiomas", "lengua",  # es, pt
        "لغة", "اللغة", "اللغات",  # ar
        "язык", "языки",  # ru
        "língua", "lingua",  # pt
        "lugha",  # sw
    }
)  # fmt: skip
_TRIM = " \t\n.!?。！？:：؟"
# An intent this sure wins outright: its phrase is most of the message (the confidence is
# the share of the message's content words the phrase covers, 0.6 at the least). A weaker
# "talk to someone" inside a question about a facet ("can I film, or do I need to talk to
# someone at the office?", "工作人员几点上班？") is that question, not a request.
SURE = 0.7
HOW_TO_JOIN = "how_to_join"  # the facet of questions about applying, registering
WORDS_MATCH = 0.6  # an intent's confidence when all words of one of its phrases are there
# How long a conversation's last topic still explains a follow-up ("and the hours?").
CONTEXT_TTL_S = 30 * 60


class IntentDetector:
    """The dispatcher's intent hook: scored phrases in 8 languages (knowledge/intents.yaml)."""

    def __init__(self, knowledge: KnowledgeService) -> None:
        self.knowledge = knowledge

    async def __call__(self, turn: Turn, text: str) -> str | None:
        """'language', 'human', 'tours', 'plan', or None for a question."""
        if turn.form is not None:
            return self._leaves_form(text)
        if text.strip(_TRIM).casefold() in LANGUAGE_WORDS:
            return "language"
        # Off the event loop: the model may run (tens of ms) while other chats go on.
        return await asyncio.to_thread(self._scored, turn, text)

    def _leaves_form(self, text: str) -> str | None:
        """Inside a form, only a sure request for a person leaves it, found by its words
        alone: a name or an outlet typed into the form never runs the model."""
        match = self.knowledge.intent(text, words_only=True)
        sure = match is not None and match.intent == "human" and match.confidence >= SURE
        return "human" if sure else None

    def _scored(self, turn: Turn, text: str) -> str | None:
        match = self.knowledge.intent(text)
        if match is None:
            return None
        if match.confidence >= SURE or match.intent == "plan":
            return match.intent
        if match.intent not in ("human", "tours"):  # "language school" asks no language menu
            return None
        outcome = self.knowledge.ask(text, context(turn))
        asked = outcome.asked if isinstance(outcome, Answer) else outcome.facet
        if match.intent == "tours":
            # "想报名参加下次媒体采风，怎么申请？" asks how to join: answered (interview
            # requests), the tours offered beside; "book me a seat on the next tour" is a
            # request: the list. A tour only near in meaning yields to any facet question
            # ("Как связаться с пресс-службой?" is about contacts, not press tours).
            joining = asked == HOW_TO_JOIN and isinstance(outcome, Answer)
            return None if joining or (asked and match.confidence < WORDS_MATCH) else "tours"
        # Asking about filming, hours … of a place, it is a question; else a request for staff.
        return None if asked else match.intent


def context(turn: Turn) -> AskContext | None:
    """What the conversation was about, unless it went quiet long ago."""
    state = turn.state
    if state.last_topic is None and state.last_question is None:
        return None
    if turn.now - state.updated_at > CONTEXT_TTL_S:
        return None
    return AskContext(state.last_topic, state.last_facet, state.last_question)
