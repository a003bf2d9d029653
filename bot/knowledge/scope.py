"""knowledge/scope.yaml: subjects never answered, and places that share a name with ours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.model import LANGUAGES
from bot.knowledge.text import terms

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
        if not path.exists():
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        subjects: list[frozenset[str]] = []
        for lang, phrases in (data.get("out_of_scope") or {}).items():
            if lang not in LANGUAGES:
                raise ValueError(f"{path}: out_of_scope: unknown language {lang!r}")
            subjects.extend(_phrases(phrases))
        confusables = tuple(
            Confusable(
                str(entry["topic"]),
                {str(k): str(v) for k, v in (entry.get("other") or {}).items()},
                tuple(_phrases(entry.get("markers") or ())),
            )
            for entry in data.get("confusables") or ()
        )
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
