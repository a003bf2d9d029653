"""Which intent free text expresses (a day plan, the media tours, a human), before it is
a question."""

from __future__ import annotations

from bot.knowledge.engine import analyse
from bot.knowledge.lexicon import PLAN_PHRASES, TOUR_PHRASES
from bot.knowledge.text import terms

# Asking for a person instead of the bot, in the eight languages. One small list, so it can
# move into the scored intent model when that lands. Each phrase matches when all its words
# are in the message ("I need to talk to someone" holds "talk to someone").
HUMAN_REQUESTS = (
    "talk to someone", "talk to a person", "talk to a human", "speak to someone",
    "speak to a person", "speak to a human", "speak with someone", "talk to staff",
    "speak to staff", "contact the staff", "real person",
    "找工作人员", "联系工作人员", "人工客服", "转人工", "找真人", "和真人说话",
    "parler à quelqu'un", "parler à une personne", "parler à un humain", "parler au personnel",
    "hablar con alguien", "hablar con una persona", "hablar con un humano",
    "hablar con el personal",
    "التحدث مع شخص", "التحدث إلى شخص", "التحدث مع موظف", "التحدث إلى موظف", "التحدث مع إنسان",
    "поговорить с человеком", "поговорить с сотрудником", "связаться с сотрудником",
    "живой человек",
    "falar com uma pessoa", "falar com alguém", "falar com um humano", "falar com a equipe",
    "kuongea na mtu", "kuzungumza na mtu", "kuongea na mfanyakazi", "kuzungumza na mfanyakazi",
)  # fmt: skip
HUMAN_PHRASES: tuple[frozenset[str], ...] = tuple(frozenset(terms(p)) for p in HUMAN_REQUESTS)

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


def detect_intent(text: str) -> str | None:
    """'language', 'human', 'tours' or 'plan' when the text asks for one, in 8 languages."""
    if text.strip(_TRIM).casefold() in LANGUAGE_WORDS:
        return "language"
    found = analyse(text).all_terms
    if any(phrase <= found for phrase in HUMAN_PHRASES):
        return "human"
    if any(phrase <= found for phrase in TOUR_PHRASES):
        return "tours"
    if any(phrase <= found for phrase in PLAN_PHRASES):
        return "plan"
    return None
