"""Knowledge topics as loaded from YAML, and the typed outcomes of a question."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("en", "zh", "fr", "es", "ar", "ru", "pt", "sw")
KINDS: tuple[str, ...] = ("route", "event", "faq")
FACETS: tuple[str, ...] = (
    "getting_there",
    "hours",
    "interview_angles",
    "filming",
    "how_to_join",
    "contact",
    "visit_time",  # how long to allow
    "accessibility",  # step-free access, wheelchairs
)
REQUIRED_ROUTE_FACETS: tuple[str, ...] = ("getting_there", "hours", "interview_angles")

Text = dict[str, str]  # language -> text


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """When a site can be visited; minutes after midnight, weekdays 0 = Monday."""

    kind: str  # "hours", "open-access" or "by-appointment"
    days: frozenset[int] = frozenset(range(7))
    open_minute: int = 0
    close_minute: int = 24 * 60


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float | None
    lon: float | None
    address: Text


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    kind: str
    title: Text
    aliases: tuple[str, ...]
    keywords: dict[str, tuple[str, ...]]
    questions: dict[str, tuple[str, ...]]
    answer: Text
    facets: dict[str, Text]
    location: GeoPoint | None = None
    visit_minutes: int | None = None
    opening_hours: OpeningHours | None = None
    todo: tuple[str, ...] = ()
    source: Path | None = field(default=None, compare=False)

    def text(self, lang: str, facet: str | None = None) -> str:
        """The answer (or one facet of it) in `lang`, English when that language is missing."""
        texts = self.facets.get(facet, self.answer) if facet else self.answer
        return texts.get(lang) or texts["en"]

    def name(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]


@dataclass(frozen=True, slots=True)
class Answer:
    topic_id: str
    facet: str | None  # the facet answered: the one asked, when the topic has it
    confidence: float
    asked: str | None = None  # the facet the question asked about
    also: tuple[str, ...] = ()  # other topics the same message clearly asks about


@dataclass(frozen=True, slots=True)
class Ambiguous:
    candidates: tuple[str, ...]  # topic ids, best first
    facet: str | None
    confidence: float


@dataclass(frozen=True, slots=True)
class NoMatch:
    facet: str | None = None
    confidence: float = 0.0
    # Our topic whose name the question shares while it is about another place
    # ("Wuzhou in Guangxi"): the reply may say which is which.
    confusable: str | None = None


@dataclass(frozen=True, slots=True)
class AskContext:
    """What the conversation was about: the last topic, facet and question."""

    topic_id: str | None
    facet: str | None = None
    question: str | None = None


@dataclass(frozen=True, slots=True)
class IntentMatch:
    """A request for something other than a topic: "plan", "tours", "language", "human"."""

    intent: str
    confidence: float


Outcome = Answer | Ambiguous | NoMatch
