"""The knowledge service: topics from knowledge/, the index over them, and reloading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.engine import KnowledgeIndex
from bot.knowledge.facets import FacetLexicon
from bot.knowledge.loader import load_topics
from bot.knowledge.model import KINDS, LANGUAGES, AskContext, Outcome, Topic
from bot.knowledge.scope import SCOPE_FILE, Scope
from bot.knowledge.semantic import SemanticIndex
from bot.knowledge.vectors import E5Embedder, Embedder, VectorCache
from bot.langid import LATIN_LANGUAGES, LatinLanguageGuesser

FACETS_FILE = "facets.yaml"


@dataclass(frozen=True, slots=True)
class _Loaded:
    index: KnowledgeIndex
    guesser: LatinLanguageGuesser
    embedded: int  # phrases the model had to embed for this load (0 with a warm cache)


def _load(root: Path, embedder: Embedder, cache: VectorCache) -> _Loaded:
    topics = load_topics(root)
    semantic, embedded = SemanticIndex.build(topics, cache, embedder)
    index = KnowledgeIndex(
        topics,
        FacetLexicon.load(root / FACETS_FILE),
        semantic,
        embedder,
        Scope.load(root / SCOPE_FILE),
    )
    return _Loaded(index, LatinLanguageGuesser(_samples(topics)), embedded)


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

    def __init__(self, root: Path, embedder: Embedder | None = None) -> None:
        self.root = root
        self.embedder = embedder or E5Embedder()
        self._cache = VectorCache(root)
        self._loaded = _load(root, self.embedder, self._cache)
        self.version = 1  # bumped on every successful reload

    def reload(self) -> int:
        """Load the files again; on any error keep serving the old version and raise.
        Only phrases that changed since the last load are embedded."""
        self._loaded = _load(self.root, self.embedder, self._cache)
        self.version += 1
        return len(self._loaded.index.topics)

    @property
    def embedded_phrases(self) -> int:
        """Phrases the last load had to embed (the rest came from the vector cache)."""
        return self._loaded.embedded

    def ask(self, text: str, context: AskContext | str | None = None) -> Outcome:
        """The topic a message is about; `context` is the conversation so far (a plain
        string is the previous topic's id)."""
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
