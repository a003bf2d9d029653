"""Which intent free text expresses (a day plan, the media tours), before it is a question."""

from __future__ import annotations

from bot.knowledge.engine import analyse
from bot.knowledge.lexicon import PLAN_PHRASES, TOUR_PHRASES


def detect_intent(text: str) -> str | None:
    """'tours' or 'plan' when the text asks for one in any of the eight languages."""
    terms = analyse(text).all_terms
    if any(phrase <= terms for phrase in TOUR_PHRASES):
        return "tours"
    if any(phrase <= terms for phrase in PLAN_PHRASES):
        return "plan"
    return None
