"""knowledge/intents.yaml: requests that are not about a topic, scored like topics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.knowledge.model import LANGUAGES, IntentMatch
from bot.knowledge.text import terms
from bot.knowledge.vectors import Matrix
from bot.knowledge.yamlfile import KnowledgeError, Problem, language_lists, mapping, read_yaml

INTENTS_FILE = "intents.yaml"
INTENTS: tuple[str, ...] = ("plan", "tours", "language", "human")
# A message holding every word of a phrase is that intent; a long message that merely
# contains a short phrase is less sure (confidence = share of its content words covered,
# at least this).
MIN_PHRASE_CONFIDENCE = 0.6
# Meaning: a cosine (query-to-query, e5) of INTENT_COSINE_FLOOR maps to confidence 0 and
# INTENT_COSINE_CEIL to 1. Paraphrases of a request score 0.92-0.96, topic questions
# 0.82-0.88 against these phrases (measured on the dev and probe sets, 2026-11-30).
INTENT_COSINE_FLOOR = 0.88
INTENT_COSINE_CEIL = 0.95
MIN_INTENT_CONFIDENCE = 0.5


@dataclass(frozen=True, slots=True)
class IntentPhrase:
    intent: str
    text: str
    terms: frozenset[str]


def load_intents(path: Path) -> list[IntentPhrase]:
    """Read intents.yaml (none if absent); KnowledgeError lists every problem."""
    if not path.exists():
        return []
    doc = read_yaml(path)
    problems: list[Problem] = []
    phrases: list[IntentPhrase] = []
    for intent in mapping(doc, (), problems, "intent to phrases by language"):
        if intent not in INTENTS:
            problems.append(
                doc.problem((intent,), f"unknown intent; allowed: {', '.join(INTENTS)}")
            )
            continue
        for texts in language_lists(doc, (intent,), problems, LANGUAGES).values():
            phrases.extend(
                IntentPhrase(intent, t, found) for t in texts if (found := frozenset(terms(t)))
            )
    if problems:
        raise KnowledgeError(problems)
    return phrases


class IntentIndex:
    """Scores a message against the intent phrases, by words and by meaning."""

    def __init__(self, phrases: list[IntentPhrase], vectors: Matrix) -> None:
        self.phrases = phrases
        self.vectors = vectors

    def match(
        self, message_terms: frozenset[str], content: int, vector: Callable[[], Matrix | None]
    ) -> IntentMatch | None:
        """The best intent of a message; `content` is its count of content words and
        `vector` gives its embedding (asked for only when words alone do not decide)."""
        best: dict[str, float] = {}
        for phrase in self.phrases:
            if phrase.terms <= message_terms:
                share = len(phrase.terms) / max(content, len(phrase.terms))
                score = max(MIN_PHRASE_CONFIDENCE, min(1.0, share))
                best[phrase.intent] = max(best.get(phrase.intent, 0.0), score)
        if not best and len(self.phrases):
            query = vector()
            if query is not None:
                cosines = self.vectors @ query
                for phrase, cosine in zip(self.phrases, cosines.tolist(), strict=True):
                    span = INTENT_COSINE_CEIL - INTENT_COSINE_FLOOR
                    score = min(1.0, max(0.0, (cosine - INTENT_COSINE_FLOOR) / span))
                    best[phrase.intent] = max(best.get(phrase.intent, 0.0), score)
        if not best:
            return None
        intent = max(best, key=lambda k: best[k])
        if best[intent] < MIN_INTENT_CONFIDENCE:
            return None
        return IntentMatch(intent, round(best[intent], 3))


def empty_vectors(dim: int) -> Matrix:
    return np.zeros((0, dim), dtype=np.float32)
