"""`python -m bot kb check`: every error with file, line and field, then coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.knowledge.facets import FacetLexicon
from bot.knowledge.intents import INTENTS_FILE, load_intents
from bot.knowledge.loader import KnowledgeError, LoadReport, Problem
from bot.knowledge.model import FACETS, LANGUAGES, Topic
from bot.knowledge.scope import SCOPE_FILE, Scope
from bot.knowledge.semantic import all_phrases
from bot.knowledge.service import FACETS_FILE
from bot.knowledge.vectors import E5Embedder, VectorCache


def print_check(report: LoadReport, root: Path) -> int:
    """Print problems and a topics × languages table; 1 if anything is an error."""
    errors = list(report.errors) + _facet_file_problems(root, report)
    if report.topics:
        from bot.itinerary.travel import load_travel

        errors += load_travel(root, report.topics).problems
        from bot.rsvp.tours import load_tours

        errors += load_tours(root, {t.id for t in report.topics})[1]
    errors += _scope_and_intent_problems(root)
    for problem in errors:
        print(f"ERROR {problem}")
    for problem in report.warnings:
        print(f"note  {problem}")
    for note in close_phrases(report.topics, root):
        print(f"note  {note}")
    if report.topics:
        print()
        print(coverage_table(report.topics))
    print(f"\n{len(report.topics)} topics, {len(errors)} errors, {len(report.warnings)} notes")
    return 1 if errors else 0


# Example questions or titles of two topics this close in meaning (e5 cosine) make the
# engine hesitate between them. Paraphrases of one question score 0.95-0.98; two different
# questions about one place 0.90-0.94 (measured on the shipped base, 2026-11-30).
CLOSE_PHRASE_COSINE = 0.965


def close_phrases(topics: list[Topic], root: Path, limit: int = 20) -> list[str]:
    """Warnings for example questions/titles of different topics that mean nearly the same."""
    if not topics:
        return []
    phrases = [p for p in all_phrases(topics) if p.is_query]
    vectors, _ = VectorCache(root).vectors(
        [(p.text, True) for p in phrases], E5Embedder(), prune=False
    )
    owner = np.array([p.topic for p in phrases])
    notes: list[str] = []
    for row in range(len(phrases)):
        cosines = vectors[row + 1 :] @ vectors[row]
        for offset in np.flatnonzero(cosines >= CLOSE_PHRASE_COSINE):
            other = row + 1 + int(offset)
            if owner[other] != owner[row] and len(notes) < limit:
                a, b = phrases[row], phrases[other]
                notes.append(
                    f"too close ({float(cosines[offset]):.3f}): {topics[a.topic].id}: "
                    f"{a.text!r} ~ {topics[b.topic].id}: {b.text!r}"
                )
    return notes


def _scope_and_intent_problems(root: Path) -> list[Problem]:
    problems = []
    for name, load in ((SCOPE_FILE, Scope.load), (INTENTS_FILE, load_intents)):
        try:
            load(root / name)
        except KnowledgeError as exc:
            problems.extend(exc.errors)
    return problems


def _facet_file_problems(root: Path, report: LoadReport) -> list[Problem]:
    path = root / FACETS_FILE
    try:
        lexicon = FacetLexicon.load(path)
    except KnowledgeError as exc:
        return exc.errors
    known = {t.id for t in report.topics}
    return [
        Problem(path, 1, f"{facet}.default_topic", f"no topic has the id {topic_id!r}")
        for facet, topic_id in lexicon.defaults.items()
        if report.topics and topic_id not in known
    ]


def coverage_table(topics: list[Topic]) -> str:
    """One row per topic: for each language, ok or what is missing."""
    width = max(len(t.id) for t in topics)
    lines = [f"{'topic':{width}}  " + "  ".join(f"{lang:>4}" for lang in LANGUAGES)]
    for topic in sorted(topics, key=lambda t: (t.kind, t.id)):
        cells = [("ok" if not _missing(topic, lang) else "MISS") for lang in LANGUAGES]
        lines.append(f"{topic.id:{width}}  " + "  ".join(f"{c:>4}" for c in cells))
        for lang in LANGUAGES:
            if missing := _missing(topic, lang):
                lines.append(f"{'':{width}}  {lang}: missing {', '.join(missing)}")
    return "\n".join(lines)


def _missing(topic: Topic, lang: str) -> list[str]:
    missing = [name for name in ("title", "answer") if lang not in getattr(topic, name)]
    if lang not in topic.questions:
        missing.append("questions")
    missing += [f"facets.{f}" for f in FACETS if f in topic.facets and lang not in topic.facets[f]]
    return missing
