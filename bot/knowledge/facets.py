"""Facet triggers from knowledge/facets.yaml: which part of a topic a question asks about."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from bot.knowledge.model import FACETS, LANGUAGES
from bot.knowledge.text import terms
from bot.knowledge.yamlfile import KnowledgeError, Problem, language_lists, mapping, read_yaml


@dataclass(frozen=True, slots=True)
class Trigger:
    facet: str
    terms: frozenset[str]


TYPO_MIN_LENGTH = 6
# Written joined to the next word in Arabic: "and", "so". A follow-up often starts with one.
ARABIC_CONJUNCTIONS = ("و", "ف")


def _match(term: str, query_terms: frozenset[str]) -> str | None:
    """The question's term that is this trigger term, exactly or with one typo."""
    if term in query_terms:
        return term
    for conjunction in ARABIC_CONJUNCTIONS:  # "وكيف أصل" is "and how do I get": كيف أصل
        if conjunction + term in query_terms:
            return conjunction + term
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
        """Read facets.yaml; KnowledgeError lists every problem with its line and field."""
        doc = read_yaml(path)
        problems: list[Problem] = []
        triggers: list[Trigger] = []
        defaults: dict[str, str] = {}
        for facet in mapping(doc, (), problems, "facet name to triggers"):
            if facet not in FACETS:
                problems.append(
                    doc.problem((facet,), f"unknown facet; allowed: {', '.join(FACETS)}")
                )
                continue
            spec = mapping(doc, (facet,), problems, "default_topic and triggers")
            if spec.get("default_topic"):
                defaults[facet] = str(spec["default_topic"])
            for phrases in language_lists(doc, (facet, "triggers"), problems, LANGUAGES).values():
                triggers.extend(
                    Trigger(facet, found) for p in phrases if (found := frozenset(terms(p)))
                )
        if problems:
            raise KnowledgeError(problems)
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
