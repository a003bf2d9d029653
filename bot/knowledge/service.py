"""The knowledge service: topics from knowledge/, the index over them, and reloading."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.engine import KnowledgeIndex, analyse
from bot.knowledge.facets import FacetLexicon
from bot.knowledge.intents import INTENTS_FILE, IntentIndex, IntentPhrase, load_intents
from bot.knowledge.lexicon import ALL_STOPWORDS
from bot.knowledge.loader import KnowledgeError, Problem, check_knowledge
from bot.knowledge.model import KINDS, LANGUAGES, AskContext, IntentMatch, Outcome, Topic
from bot.knowledge.scope import SCOPE_FILE, Scope
from bot.knowledge.semantic import SemanticIndex, all_phrases
from bot.knowledge.vectors import E5Embedder, Embedder, VectorCache
from bot.knowledge.yamlfile import read_yaml
from bot.langid import LATIN_LANGUAGES, LatinLanguageGuesser

FACETS_FILE = "facets.yaml"


@dataclass(frozen=True, slots=True)
class KnowledgeFiles:
    """Every knowledge file the service reads, parsed and validated, not yet indexed."""

    topics: list[Topic]
    facets: FacetLexicon
    scope: Scope
    intent_phrases: list[IntentPhrase]


@dataclass(frozen=True, slots=True)
class LoadedKnowledge:
    """A built index over one version of the files, ready to swap in."""

    index: KnowledgeIndex
    intents: IntentIndex
    guesser: LatinLanguageGuesser
    embedded: int  # phrases the model had to embed for this load (0 with a warm cache)


def read_files(root: Path) -> KnowledgeFiles:
    """Topics, facets, scope and intents; KnowledgeError lists every problem of them all."""
    report = check_knowledge(root)
    problems = list(report.errors)
    parts: list[object] = []
    for load, name in ((FacetLexicon.load, FACETS_FILE), (Scope.load, SCOPE_FILE),
                       (load_intents, INTENTS_FILE)):  # fmt: skip
        try:
            parts.append(load(root / name))
        except KnowledgeError as exc:
            problems.extend(exc.errors)
    if not problems:
        facets, scope, intents = parts
        assert isinstance(facets, FacetLexicon) and isinstance(scope, Scope)
        assert isinstance(intents, list)
        problems += _dangling_topics(root, report.topics, facets, scope)
        if not problems:
            return KnowledgeFiles(report.topics, facets, scope, intents)
    raise KnowledgeError(problems)


def _dangling_topics(
    root: Path, topics: list[Topic], facets: FacetLexicon, scope: Scope
) -> list[Problem]:
    """Topic ids that facets.yaml and scope.yaml name must exist (the files are read again
    for the lines: they are small, and this runs only when they name a missing topic)."""
    known = {t.id for t in topics}
    missing = [(facet, tid) for facet, tid in facets.defaults.items() if tid not in known]
    problems = []
    if missing:
        doc = read_yaml(root / FACETS_FILE)
        problems += [
            doc.problem((facet, "default_topic"), f"no topic has the id {tid!r}")
            for facet, tid in missing
        ]
    wrong = [n for n, entry in enumerate(scope.confusables) if entry.topic not in known]
    if wrong:
        doc = read_yaml(root / SCOPE_FILE)
        problems += [
            doc.problem(
                ("confusables", n, "topic"), f"no topic has the id {scope.confusables[n].topic!r}"
            )
            for n in wrong
        ]
    return problems


def _build(files: KnowledgeFiles, embedder: Embedder, cache: VectorCache) -> LoadedKnowledge:
    topics = files.topics
    phrases = all_phrases(topics)
    texts = [(p.text, p.is_query) for p in phrases] + [(p.text, True) for p in files.intent_phrases]
    # One call, so the cache keeps exactly the phrases in use and embeds only new ones.
    matrix, embedded = cache.vectors(texts, embedder)
    semantic = SemanticIndex(phrases, matrix[: len(phrases)], len(topics))
    intents = IntentIndex(files.intent_phrases, matrix[len(phrases) :])
    index = KnowledgeIndex(topics, files.facets, semantic, embedder, files.scope)
    return LoadedKnowledge(index, intents, LatinLanguageGuesser(_samples(topics)), embedded)


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
        self._building = threading.Lock()  # one build at a time owns the vector cache
        self._loaded = self.prepare(read_files(root))
        self.version = 1  # bumped on every successful reload

    def prepare(self, files: KnowledgeFiles) -> LoadedKnowledge:
        """Index validated files (embedding only changed phrases) without serving them;
        slow when many phrases changed, so callers on an event loop run it in a thread."""
        with self._building:
            if self._cache.folder != self.root:
                self._cache = VectorCache(self.root)
            return _build(files, self.embedder, self._cache)

    def install(self, loaded: LoadedKnowledge) -> int:
        """Serve a prepared version from now on (one assignment: atomic for readers)."""
        self._loaded = loaded
        self.version += 1
        return len(loaded.index.topics)

    def reload(self) -> int:
        """Load the files again; on any error keep serving the old version and raise.
        Only phrases that changed since the last load are embedded."""
        return self.install(self.prepare(read_files(self.root)))

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

    def intent(self, text: str, words_only: bool = False) -> IntentMatch | None:
        """Whether a message asks to plan a day, for the media tours, to change language or
        for a person ("I need to talk to someone", "我要找工作人员"), with a confidence;
        `words_only` never runs the model."""
        query = analyse(text)
        if query.empty:
            return None
        content = len([t for t in query.all_terms if t not in ALL_STOPWORDS])
        index = self._loaded.index
        vector = (lambda: None) if words_only else (lambda: index.embed(text))
        return self._loaded.intents.match(query.all_terms, content, vector)

    def named_topics(self, text: str, kind: str | None = None) -> list[str]:
        """Topics whose name or alias the text contains (e.g. the sites of a plan request)."""
        return [
            t.id for t in self._loaded.index.named_topics(text) if kind is None or t.kind == kind
        ]

    def guess_latin_language(self, text: str, loose: bool = False) -> str | None:
        """The Latin-script language of a sentence (see LatinLanguageGuesser.guess)."""
        return self._loaded.guesser.guess(text, loose)

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
