"""The knowledge service: topics from knowledge/, the index over them, and reloading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.engine import KnowledgeIndex
from bot.knowledge.facets import FacetLexicon
from bot.knowledge.loader import load_topics
from bot.knowledge.model import KINDS, LANGUAGES, Outcome, Topic
from bot.langid import LATIN_LANGUAGES, LatinLanguageGuesser

FACETS_FILE = "facets.yaml"


@dataclass(frozen=True, slots=True)
class _Loaded:
    index: KnowledgeIndex
    guesser: LatinLanguageGuesser


def _load(root: Path) -> _Loaded:
    topics = load_topics(root)
    index = KnowledgeIndex(topics, FacetLexicon.load(root / FACETS_FILE))
    return _Loaded(index, LatinLanguageGuesser(_samples(topics)))


def _samples(topics: list[Topic]) -> dict[str, list[str]]:
    """Every text of the knowledge base, by language, to learn what each language looks like."""
    samples: dict[str, list[str]] = {lang: [] for lang in LATIN_LANGUAGES}
    for topic in topics:
        for lang in samples:
            samples[lang].append(topic.text(lang))
            samples[lang].extend(topic.questions.get(lang, ()))
            samples[lang].extend(t.get(lang, "") for t in topic.facets.values())
    return samples


class KnowledgeService:
    """Answers questions from the YAML knowledge base; `reload` swaps it atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loaded = _load(root)
        self.version = 1  # bumped on every successful reload

    def reload(self) -> int:
        """Load the files again; on any error keep serving the old version and raise."""
        self._loaded = _load(self.root)
        self.version += 1
        return len(self._loaded.index.topics)

    def ask(self, text: str, context: str | None = None) -> Outcome:
        return self._loaded.index.match(text, context)

    def named_topics(self, text: str, kind: str | None = None) -> list[str]:
        """Topics whose name or alias the text contains (e.g. the sites of a plan request)."""
        return [
            t.id for t in self._loaded.index.named_topics(text) if kind is None or t.kind == kind
        ]

    def guess_latin_language(self, text: str) -> str | None:
        return self._loaded.guesser.guess(text)

    def topic(self, topic_id: str) -> Topic | None:
        return self._loaded.index.by_id.get(topic_id)

    def topics(self, kind: str | None = None) -> list[Topic]:
        return [t for t in self._loaded.index.topics if kind is None or t.kind == kind]

    @property
    def kinds(self) -> tuple[str, ...]:
        return KINDS

    @property
    def languages(self) -> tuple[str, ...]:
        return LANGUAGES
