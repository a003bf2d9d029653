"""knowledge/scope.yaml: subjects never answered, and places that share a name with ours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.model import LANGUAGES
from bot.knowledge.text import MAX_QUERY_CHARS, fold, is_han, stems, terms, words
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
    elsewhere: tuple[str, ...] = ()  # folded names of places that are not ours
    here: tuple[str, ...] = ()  # folded names of Jinhua and its counties
    other_subjects: tuple[tuple[frozenset[str], ...], ...] = ()  # per word: it and its stems

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
        elsewhere, here = (_place_names(doc, key, problems) for key in ("elsewhere", "here"))
        everyday: list[tuple[frozenset[str], ...]] = []
        for phrases in language_lists(doc, ("other_subjects",), problems, LANGUAGES).values():
            everyday.extend(tuple(_forms(w) for w in phrase) for phrase in _phrases(phrases))
        if problems:
            raise KnowledgeError(problems)
        return cls(tuple(subjects), confusables, elsewhere, here, tuple(everyday))

    def other_subject(self, query_terms: frozenset[str]) -> bool:
        """The question is about an everyday subject we do not cover (a hotel, a SIM card),
        in any inflection ("مطعماً", "гостиницу")."""
        forms = query_terms | {s for term in query_terms if not term.isascii() for s in stems(term)}
        return any(all(word & forms for word in phrase) for phrase in self.other_subjects)

    def places_elsewhere(self, text: str, origins: frozenset[str]) -> list[str]:
        """Places elsewhere that a text asks about (see places_elsewhere); none when it
        also names one of ours."""
        folded = fold(text[:MAX_QUERY_CHARS])
        if any(place in folded for place in self.here):
            return []
        return places_elsewhere(folded, self.elsewhere, origins)

    def off_topic(self, query_terms: frozenset[str]) -> bool:
        """The question is about a subject we never answer (weather, share prices …)."""
        return any(phrase <= query_terms for phrase in self.out_of_scope)

    def confused(self, topic_id: str, query_terms: frozenset[str]) -> Confusable | None:
        """The other place of that name, when the question marks it ("Wuzhou in Guangxi")."""
        for entry in self.confusables:
            if entry.topic == topic_id and any(m <= query_terms for m in entry.markers):
                return entry
        return None


_HAN_NOT_SUBJECT_AFTER = frozenset("到人记媒电报籍")
MAX_WORD_CHARS = 40  # looking this far back finds the word before a place


def places_elsewhere(folded: str, places: tuple[str, ...], origins: frozenset[str]) -> list[str]:
    """The listed places a folded text names, less those it names as a starting point
    ("从上海到金华", "من شنغهاي"): a question from there is still about here."""
    found = []
    for place in places:
        start = folded.find(place)
        while start >= 0:
            if _is_subject(folded, start, place, origins):
                found.append(place)
                break
            start = folded.find(place, start + 1)
    return found


def _is_subject(folded: str, start: int, place: str, origins: frozenset[str]) -> bool:
    """A place found at `start` is a whole word and not a starting point."""
    end = start + len(place)
    if is_han(place):
        before, after = folded[start - 1 : start], folded[end : end + 1]
        # "从上海", "上海到金华": a starting point; "法国记者", "法国电视台": who one is.
        return before not in origins and after not in _HAN_NOT_SUBJECT_AFTER
    if folded[start - 1 : start].isalnum() or folded[end : end + 1].isalnum():
        return False  # part of a longer word
    previous = words(folded[max(0, start - MAX_WORD_CHARS) : start])[-1:]
    return not (previous and previous[0] in origins)


def _forms(word: str) -> frozenset[str]:
    """A word and, in Arabic and Cyrillic script, its stems ("مطعماً" is مطعم); Latin words
    stand as listed (their stems collide: "apartment" and "apart")."""
    return frozenset({word, *(() if word.isascii() else stems(word))})


def _place_names(doc: YamlDoc, key: str, problems: list[Problem]) -> tuple[str, ...]:
    """A per-language list of place names, folded, as one tuple."""
    by_lang = language_lists(doc, (key,), problems, LANGUAGES).values()
    return tuple(dict.fromkeys(n for names in by_lang for p in names if (n := fold(p).strip())))


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
