"""Facet triggers from knowledge/facets.yaml: which part of a topic a question asks about."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

from bot.knowledge.model import FACETS, LANGUAGES
from bot.knowledge.text import terms


@dataclass(frozen=True, slots=True)
class Trigger:
    facet: str
    terms: frozenset[str]


TYPO_MIN_LENGTH = 6


def _match(term: str, query_terms: frozenset[str]) -> str | None:
    """The question's term that is this trigger term, exactly or with one typo."""
    if term in query_terms:
        return term
    if len(term) < TYPO_MIN_LENGTH:
        return None
    for candidate in query_terms:
        if abs(len(candidate) - len(term)) <= 1 and Levenshtein.distance(term, candidate) <= 1:
            return candidate
    return None


class FacetLexicon:
    """Detects facets by trigger phrases; the longest matching trigger wins."""

    def __init__(
        self,
        triggers: list[Trigger],
        defaults: dict[str, str],
    ) -> None:
        # Longest first, so "opening hours" beats "open" and "how do i get" beats "get to".
        self.triggers = sorted(triggers, key=lambda t: -len(t.terms))
        self.defaults = defaults

    @classmethod
    def load(cls, path: Path) -> FacetLexicon:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        triggers: list[Trigger] = []
        defaults: dict[str, str] = {}
        for facet, spec in data.items():
            if facet not in FACETS:
                raise ValueError(f"{path}: unknown facet {facet!r}; allowed: {', '.join(FACETS)}")
            if spec.get("default_topic"):
                defaults[facet] = str(spec["default_topic"])
            for lang, phrases in (spec.get("triggers") or {}).items():
                if lang not in LANGUAGES:
                    raise ValueError(f"{path}: {facet}.triggers: unknown language {lang!r}")
                for phrase in phrases:
                    found = frozenset(terms(str(phrase)))
                    if found:
                        triggers.append(Trigger(facet, found))
        return cls(triggers, defaults)

    def detect(self, query_terms: frozenset[str]) -> tuple[str | None, frozenset[str]]:
        """The facet a question asks about, and the question's terms that said so.
        Long trigger words may carry one typo ("добратся" for "добраться")."""
        for trigger in self.triggers:  # exact words first: "wheelchair access" is not "acceso"
            if trigger.terms <= query_terms:
                return trigger.facet, trigger.terms
        for trigger in self.triggers:
            matched = [_match(term, query_terms) for term in trigger.terms]
            if all(matched):
                return trigger.facet, frozenset(m for m in matched if m)
        return None, frozenset()

    def default_topic(self, facet: str) -> str | None:
        return self.defaults.get(facet)
