"""The knowledge service: topics from knowledge/, the index over them, and reloading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.engine import KnowledgeIndex, analyse
from bot.knowledge.facets import FacetLexicon
from bot.knowledge.intents import INTENTS_FILE, IntentIndex, load_intents
from bot.knowledge.lexicon import ALL_STOPWORDS
from bot.knowledge.loader import load_topics
from bot.knowledge.model import KINDS, LANGUAGES, AskContext, IntentMatch, Outcome, Topic
from bot.knowledge.scope import SCOPE_FILE, Scope
from bot.knowledge.semantic import SemanticIndex, all_phrases
from bot.knowledge.vectors import E5Embedder, Embedder, VectorCache
from bot.langid import LATIN_LANGUAGES, LatinLanguageGuesser

FACETS_FILE = "facets.yaml"


@dataclass(frozen=True, slots=True)
class _Loaded:
    index: KnowledgeIndex
    intents: IntentIndex
    guesser: LatinLanguageGuesser
    embedded: int  # phrases the model had to embed for this load (0 with a warm cache)


def _load(root: Path, embedder: Embedder, cache: VectorCache) -> _Loaded:
    topics = load_topics(root)
    phrases = all_phrases(topics)
    intent_phrases = load_intents(root / INTENTS_FILE)
    texts = [(p.text, p.is_query) for p in phrases] + [(p.text, True) for p in intent_phrases]
    # One call, so the cache keeps exactly the phrases in use and embeds only new ones.
    matrix, embedded = cache.vectors(texts, embedder)
    semantic = SemanticIndex(phrases, matrix[: len(phrases)], len(topics))
    intents = IntentIndex(intent_phrases, matrix[len(phrases) :])
    index = KnowledgeIndex(
        topics,
        FacetLexicon.load(root / FACETS_FILE),
        semantic,
        embedder,
        Scope.load(root / SCOPE_FILE),
    )
    return _Loaded(index, intents, LatinLanguageGuesser(_samples(topics)), embedded)


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

    @property
    def embedded_queries(self) -> int:
        """Messages that needed the model so far (the rest took the cheap lexical path)."""
        return self._loaded.index.embedded_queries

    def ask(self, text: str, context: AskContext | str | None = None) -> Outcome:
        """The topic a message is about; `context` is the conversation so far (a plain
        string is the previous topic's id)."""
        return self._loaded.index.match(text, context)

    def intent(self, text: str) -> IntentMatch | None:
        """Whether a message asks to plan a day, for the media tours, to change language or
        for a person ("I need to talk to someone", "我要找工作人员"), with a confidence."""
        query = analyse(text)
        if query.empty:
            return None
        content = len([t for t in query.all_terms if t not in ALL_STOPWORDS])
        index = self._loaded.index
        return self._loaded.intents.match(query.all_terms, content, lambda: index.embed(text))

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
