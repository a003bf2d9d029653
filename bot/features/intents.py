"""Which intent free text expresses (a day plan, the media tours), before it is a question."""

from __future__ import annotations

from bot.knowledge.engine import analyse
from bot.knowledge.lexicon import PLAN_PHRASES, TOUR_PHRASES

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
    """'language', 'tours' or 'plan' when the text asks for one in any of the 8 languages."""
    if text.strip(_TRIM).casefold() in LANGUAGE_WORDS:
        return "language"
    terms = analyse(text).all_terms
    if any(phrase <= terms for phrase in TOUR_PHRASES):
        return "tours"
    if any(phrase <= terms for phrase in PLAN_PHRASES):
        return "plan"
    return None
