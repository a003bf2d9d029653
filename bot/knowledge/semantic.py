"""The semantic layer: which topic (and facet) a question is closest to in meaning.

Each topic contributes its titles and example questions (embedded as e5 "query:" texts, like
the question they are compared with) and the sentences of its answer and facets (as
"passage:" texts). A question's score for a topic is its best cosine over those phrases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.knowledge.model import Topic
from bot.knowledge.vectors import Matrix

_SENTENCE_END = re.compile(r"(?<=[.!?。！？؟])\s*|\n+")
MIN_SENTENCE_CHARS = 12  # shorter pieces ("e.g.", "No.") join the next sentence


@dataclass(frozen=True, slots=True)
class Phrase:
    topic: int  # index into the topic list
    facet: str | None  # None: the overview
    text: str
    is_query: bool


def sentences(text: str) -> list[str]:
    """A text cut into sentences of at least MIN_SENTENCE_CHARS characters."""
    out: list[str] = []
    pending = ""
    for piece in _SENTENCE_END.split(text):
        pending = f"{pending} {piece}".strip() if pending else piece.strip()
        if len(pending) >= MIN_SENTENCE_CHARS:
            out.append(pending)
            pending = ""
    if pending:
        out.append(pending)
    return out


def all_phrases(topics: Sequence[Topic]) -> list[Phrase]:
    """Every topic's phrases, less sentences that several topics share word for word
    (boilerplate such as "名称为暂译，尚待官方确认" says nothing about which topic is meant)."""
    phrases = [p for i, t in enumerate(topics) for p in topic_phrases(i, t)]
    owners: dict[str, set[int]] = {}
    for phrase in phrases:
        owners.setdefault(phrase.text, set()).add(phrase.topic)
    return [p for p in phrases if p.is_query or len(owners[p.text]) == 1]


def topic_phrases(index: int, topic: Topic) -> Iterable[Phrase]:
    for title in topic.title.values():
        yield Phrase(index, None, title, True)
    for questions in topic.questions.values():
        for question in questions:
            yield Phrase(index, None, question, True)
    for text in topic.answer.values():
        for sentence in sentences(text):
            yield Phrase(index, None, sentence, False)
    for facet, texts in topic.facets.items():
        for text in texts.values():
            for sentence in sentences(text):
                yield Phrase(index, facet, sentence, False)


@dataclass(frozen=True, slots=True)
class Similarity:
    """A question's best cosine per topic, and per (topic, facet) for facet phrases."""

    topics: Matrix  # shape (topics,)
    cosines: Matrix  # shape (phrases,)
    phrases: Sequence[Phrase]
    rows_of: Mapping[int, Sequence[int]]  # phrase rows of each topic

    def facets_of(self, topic: int) -> dict[str | None, float]:
        """Best cosine per facet of one topic (None: its overview phrases)."""
        best: dict[str | None, float] = {}
        for row in self.rows_of.get(topic, ()):
            facet = self.phrases[row].facet
            value = float(self.cosines[row])
            if best.get(facet, -1.0) < value:
                best[facet] = value
        return best

    def ranked(self) -> list[int]:
        return [int(i) for i in np.argsort(-self.topics, kind="stable")]


class SemanticIndex:
    """Phrase vectors of every topic; scores a question vector against them."""

    def __init__(self, phrases: Sequence[Phrase], matrix: Matrix, topic_count: int) -> None:
        self.phrases = list(phrases)
        self.matrix = matrix
        self.topic_count = topic_count
        self._topic_of = np.array([p.topic for p in self.phrases], dtype=np.int64)
        self._rows_of: dict[int, list[int]] = {}
        for row, phrase in enumerate(self.phrases):
            self._rows_of.setdefault(phrase.topic, []).append(row)

    def similarity(self, vector: Matrix) -> Similarity:
        cosines = self.matrix @ vector
        best = np.full(self.topic_count, -1.0, dtype=np.float32)
        np.maximum.at(best, self._topic_of, cosines)
        return Similarity(best, cosines, self.phrases, self._rows_of)
