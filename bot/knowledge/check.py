"""`python -m bot kb check`: every error with file, line and field, then coverage."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge.facets import FacetLexicon
from bot.knowledge.loader import LoadReport, Problem
from bot.knowledge.model import FACETS, LANGUAGES, Topic
from bot.knowledge.service import FACETS_FILE


def print_check(report: LoadReport, root: Path) -> int:
    """Print problems and a topics × languages table; 1 if anything is an error."""
    errors = list(report.errors) + _facet_file_problems(root, report)
    if report.topics:
        from bot.itinerary.travel import load_travel

        errors += load_travel(root, report.topics).problems
        from bot.rsvp.tours import load_tours

        errors += load_tours(root, {t.id for t in report.topics})[1]
    for problem in errors:
        print(f"ERROR {problem}")
    for problem in report.warnings:
        print(f"note  {problem}")
    if report.topics:
        print()
        print(coverage_table(report.topics))
    print(f"\n{len(report.topics)} topics, {len(errors)} errors, {len(report.warnings)} notes")
    return 1 if errors else 0


def _facet_file_problems(root: Path, report: LoadReport) -> list[Problem]:
    path = root / FACETS_FILE
    try:
        lexicon = FacetLexicon.load(path)
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        return [Problem(path, 1, "(file)", str(exc))]
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
