"""Facet triggers from knowledge/facets.yaml: which part of a topic a question asks about."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.model import FACETS, LANGUAGES
from bot.knowledge.text import terms


@dataclass(frozen=True, slots=True)
class Trigger:
    facet: str
    terms: frozenset[str]


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
        """The facet a question asks about, and the terms that said so."""
        for trigger in self.triggers:
            if trigger.terms <= query_terms:
                return trigger.facet, trigger.terms
        return None, frozenset()

    def default_topic(self, facet: str) -> str | None:
        return self.defaults.get(facet)
