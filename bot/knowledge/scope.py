"""knowledge/scope.yaml: subjects never answered, and places that share a name with ours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.model import LANGUAGES
from bot.knowledge.text import terms
from bot.knowledge.yamlfile import (
    KnowledgeError,
    Problem,
    YamlDoc,
    language_lists,
    mapping,
    read_yaml,
)

SCOPE_FILE = "scope.yaml"


@dataclass(frozen=True, slots=True)
class Confusable:
    topic: str
    other: dict[str, str]  # the other place's name, by language
    markers: tuple[frozenset[str], ...]


@dataclass(frozen=True, slots=True)
class Scope:
    out_of_scope: tuple[frozenset[str], ...] = ()
    confusables: tuple[Confusable, ...] = ()

    @classmethod
    def load(cls, path: Path) -> Scope:
        """Read scope.yaml (empty if absent); KnowledgeError lists every problem."""
        if not path.exists():
            return cls()
        doc = read_yaml(path)
        problems: list[Problem] = []
        mapping(doc, (), problems, "out_of_scope and confusables")
        subjects: list[frozenset[str]] = []
        for phrases in language_lists(doc, ("out_of_scope",), problems, LANGUAGES).values():
            subjects.extend(_phrases(phrases))
        confusables = tuple(_confusables(doc, problems))
        if problems:
            raise KnowledgeError(problems)
        return cls(tuple(subjects), confusables)

    def off_topic(self, query_terms: frozenset[str]) -> bool:
        """The question is about a subject we never answer (weather, share prices …)."""
        return any(phrase <= query_terms for phrase in self.out_of_scope)

    def confused(self, topic_id: str, query_terms: frozenset[str]) -> Confusable | None:
        """The other place of that name, when the question marks it ("Wuzhou in Guangxi")."""
        for entry in self.confusables:
            if entry.topic == topic_id and any(m <= query_terms for m in entry.markers):
                return entry
        return None


def _phrases(items: object) -> list[frozenset[str]]:
    out = []
    for item in items if isinstance(items, list | tuple) else ():
        found = frozenset(terms(str(item)))
        if found:
            out.append(found)
    return out


def _confusables(doc: YamlDoc, problems: list[Problem]) -> list[Confusable]:
    entries = doc.data.get("confusables") if isinstance(doc.data, dict) else None
    if entries is not None and not isinstance(entries, list):
        problems.append(doc.problem(("confusables",), "must be a list of {topic, other, markers}"))
        return []
    out = []
    for number, entry in enumerate(entries or ()):
        where = ("confusables", number)
        if not isinstance(entry, dict) or not isinstance(entry.get("topic"), str):
            problems.append(doc.problem(where, "needs topic: <topic id>, other: and markers:"))
            continue
        other = mapping(doc, (*where, "other"), problems, "language code to a name")
        markers = entry.get("markers") or ()
        if not isinstance(markers, list):
            problems.append(doc.problem((*where, "markers"), "must be a list of phrases"))
        out.append(Confusable(entry["topic"], {str(k): str(v) for k, v in other.items()},
                              tuple(_phrases(markers))))  # fmt: skip
    return out
