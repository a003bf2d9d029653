"""Load knowledge/*/*.yaml into Topics, reporting every problem with file, line and field.

Staff edit these files by hand, so the loader collects all errors rather than stopping at
the first, and says where each one is in words a non-programmer can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.model import (
    FACETS,
    KINDS,
    LANGUAGES,
    REQUIRED_ROUTE_FACETS,
    WEEKDAYS,
    GeoPoint,
    OpeningHours,
    Topic,
)
from bot.knowledge.text import fold
from bot.knowledge.yamlfile import KnowledgeError, Path_, Problem, dotted, read_yaml

__all__ = ["KnowledgeError", "LoadReport", "Problem", "check_knowledge", "load_topics"]

TOPIC_FOLDERS = ("routes", "events", "faq")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TOP_LEVEL = {
    "id",
    "kind",
    "title",
    "aliases",
    "keywords",
    "questions",
    "answer",
    "facets",
    "location",
    "visit_minutes",
    "opening_hours",
    "sources",
    "todo",
}
_REQUIRED = ("id", "kind", "title", "aliases", "questions", "answer", "facets")


@dataclass
class LoadReport:
    topics: list[Topic] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def topic_files(root: Path) -> list[Path]:
    return sorted(p for folder in TOPIC_FOLDERS for p in (root / folder).rglob("*.y*ml"))


def load_topics(root: Path) -> list[Topic]:
    """Load and validate every topic; raise KnowledgeError listing all errors."""
    report = check_knowledge(root)
    if report.errors:
        raise KnowledgeError(report.errors)
    return report.topics


def check_knowledge(root: Path) -> LoadReport:
    """Every topic file read and validated; all problems listed, none raised."""
    report = LoadReport()
    files = topic_files(root)
    if not files:
        # Without topics every question gets "no match" and /plan has no site.
        folders = ", ".join(f"{name}/" for name in TOPIC_FOLDERS)
        report.errors.append(
            Problem(root / "routes", 1, "(folder)", f"no topic files in {folders}")
        )
    for path in files:
        _load_file(path, report)
    _check_across_topics(report)
    return report


def _load_file(path: Path, report: LoadReport) -> None:
    try:
        doc = read_yaml(path)
    except KnowledgeError as exc:
        report.errors.extend(exc.errors)
        return
    validator = _TopicValidator(path, doc.data, doc.lines)
    topic = validator.build()
    report.errors.extend(validator.errors)
    report.warnings.extend(validator.warnings)
    if topic is not None:
        report.topics.append(topic)


class _TopicValidator:
    """Checks one parsed file against the topic schema and builds the Topic."""

    def __init__(self, path: Path, data: Any, lines: dict[Path_, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, where: Path_, message: str) -> None:
        self.errors.append(Problem(self.path, self._line(where), dotted(where), message))

    def warn(self, where: Path_, message: str) -> None:
        self.warnings.append(Problem(self.path, self._line(where), dotted(where), message))

    def _line(self, where: Path_) -> int:
        while where and where not in self.lines:
            where = where[:-1]
        return self.lines.get(where, 1)

    def build(self) -> Topic | None:
        if not isinstance(self.data, dict):
            self.error((), "a topic file must be a mapping of fields (id:, kind:, title: …)")
            return None
        self._check_duplicate_keys()
        for key in self.data:
            if key not in _TOP_LEVEL:
                self.error((key,), f"unknown field; allowed: {', '.join(sorted(_TOP_LEVEL))}")
        for key in _REQUIRED:
            if key not in self.data:
                self.error((), f"missing required field '{key}'")
        if any(e.message.startswith("missing required") for e in self.errors):
            return None
        topic = self._topic()
        return None if self.errors else topic

    def _check_duplicate_keys(self) -> None:
        for where in self.lines:
            if where and where[-1] == "__duplicate__":
                self.error(where[:-1], "this key appears twice; the second silently wins")

    def _topic(self) -> Topic:
        d = self.data
        kind = d["kind"]
        if kind not in KINDS:
            self.error(("kind",), f"must be one of {', '.join(KINDS)}, not {kind!r}")
        return Topic(
            id=self._id(),
            kind=str(kind),
            title=self._text(("title",)),
            aliases=self._aliases(),
            keywords=self._phrases(("keywords",), required=False),
            questions=self._phrases(("questions",), required=True),
            answer=self._text(("answer",)),
            facets=self._facets(str(kind)),
            location=self._location(),
            visit_minutes=self._visit_minutes(),
            opening_hours=self._opening_hours(),
            todo=self._todo(),
            source=self.path,
        )

    def _id(self) -> str:
        value = self.data["id"]
        if not isinstance(value, str) or not _ID.match(value):
            self.error(("id",), "must be lower-case words joined by dashes, e.g. shangshan-site")
            return str(value)
        if value != self.path.stem:
            self.warn(("id",), f"id {value!r} differs from the file name {self.path.stem!r}")
        return value

    def _text(self, where: Path_, required: bool = True) -> dict[str, str]:
        value = _get(self.data, where)
        if not isinstance(value, dict):
            self.error(where, "must be a mapping of language code to text (en: …, zh: …)")
            return {}
        out: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                self.error((*where, lang), f"unknown language {lang!r}; use {', '.join(LANGUAGES)}")
            elif not isinstance(text, str) or not text.strip():
                self.error((*where, lang), "must be non-empty text")
            else:
                out[lang] = _tidy(text)
        if required:
            for lang in LANGUAGES:
                if lang not in value:
                    self.error(where, f"missing the {lang!r} text")
        return out

    def _phrases(self, where: Path_, required: bool) -> dict[str, tuple[str, ...]]:
        value = _get(self.data, where)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.error(where, "must be a mapping of language code to a list of phrases")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for lang, items in value.items():
            if lang not in LANGUAGES:
                self.error((*where, lang), f"unknown language {lang!r}; use {', '.join(LANGUAGES)}")
            elif not isinstance(items, list) or not all(
                isinstance(i, str) and i.strip() for i in items
            ):
                self.error((*where, lang), "must be a list of non-empty phrases")
            else:
                out[lang] = tuple(i.strip() for i in items)
        if required:
            for lang in LANGUAGES:
                if lang not in value:
                    self.error(where, f"missing the {lang!r} list")
        return out

    def _aliases(self) -> tuple[str, ...]:
        value = self.data["aliases"]
        if not isinstance(value, list) or not value:
            self.error(("aliases",), "must be a non-empty list of names")
            return ()
        good = []
        for index, alias in enumerate(value):
            if not isinstance(alias, str) or len(alias.strip()) < 2:
                self.error(("aliases", index), "an alias must be text of 2 characters or more")
            else:
                good.append(alias.strip())
        return tuple(good)

    def _facets(self, kind: str) -> dict[str, dict[str, str]]:
        value = self.data["facets"]
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.error(("facets",), "must be a mapping of facet name to texts")
            return {}
        out = {}
        for name in value:
            if name not in FACETS:
                self.error(("facets", name), f"unknown facet; allowed: {', '.join(FACETS)}")
            else:
                out[str(name)] = self._text(("facets", name))
        if kind == "route":
            for name in REQUIRED_ROUTE_FACETS:
                if name not in value:
                    self.error(("facets",), f"a route needs the '{name}' facet")
        return out

    def _location(self) -> GeoPoint | None:
        value = self.data.get("location")
        if value is None:
            return None
        if not isinstance(value, dict) or "address" not in value:
            self.error(("location",), "needs lat, lon (or null) and address: {en: …, zh: …}")
            return None
        lat: Any = value.get("lat")
        lon: Any = value.get("lon")
        for key, number, limit in (("lat", lat, 90), ("lon", lon, 180)):
            if number is not None and not _is_coordinate(number, limit):
                self.error(("location", key), f"must be a number from -{limit} to {limit}, or null")
        if lat is None or lon is None:
            self.warn(("location",), "no coordinates yet: map pins and links are not shown")
        address = self._text(("location", "address"), required=False)
        for lang in ("en", "zh"):
            if lang not in address:
                self.error(("location", "address"), f"missing the {lang!r} address")
        if _is_coordinate(lat, 90) and _is_coordinate(lon, 180):
            return GeoPoint(float(lat), float(lon), address)
        return GeoPoint(None, None, address)

    def _visit_minutes(self) -> int | None:
        value = self.data.get("visit_minutes")
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 10 <= value <= 720:
            self.error(("visit_minutes",), "must be a whole number of minutes from 10 to 720")
            return None
        return value

    def _opening_hours(self) -> OpeningHours | None:
        value = self.data.get("opening_hours")
        if value is None:
            return None
        if value in ("open-access", "by-appointment"):
            return OpeningHours(str(value))
        usage = "use open-access, by-appointment or {days: [mon, …], open: 'HH:MM', close: 'HH:MM'}"
        if not isinstance(value, dict) or set(value) != {"days", "open", "close"}:
            self.error(("opening_hours",), usage)
            return None
        days = value["days"] if isinstance(value["days"], list) else []
        bad_days = [d for d in days if d not in WEEKDAYS]
        opens, closes = _minute_of_day(value["open"]), _minute_of_day(value["close"])
        if not days or bad_days or opens is None or closes is None or opens >= closes:
            self.error(("opening_hours",), usage + "; open before close")
            return None
        return OpeningHours("hours", frozenset(WEEKDAYS.index(d) for d in days), opens, closes)

    def _todo(self) -> tuple[str, ...]:
        value = self.data.get("todo") or []
        if not isinstance(value, list):
            self.error(("todo",), "must be a list of lines")
            return ()
        for index, item in enumerate(value):
            self.warn(("todo", index), f"to fill in: {item}")
        return tuple(str(item) for item in value)


def _minute_of_day(value: Any) -> int | None:
    """Minutes after midnight of "HH:MM" (YAML may also read 09:00 as a number)."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value))
    return int(match[1]) * 60 + int(match[2]) if match else None


def _is_coordinate(value: Any, limit: int) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) <= limit


def _get(data: Any, where: Path_) -> Any:
    for key in where:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _check_across_topics(report: LoadReport) -> None:
    """Ids and aliases must be unique: a shared alias would make the bot guess."""
    by_id: dict[str, Topic] = {}
    by_alias: dict[str, Topic] = {}
    for topic in report.topics:
        assert topic.source is not None
        if topic.id in by_id:
            first = by_id[topic.id].source
            report.errors.append(
                Problem(topic.source, 1, "id", f"duplicate id {topic.id!r}, also in {first}")
            )
        by_id.setdefault(topic.id, topic)
        for name in (*topic.aliases, *topic.title.values()):
            _claim_alias(report, by_alias, topic, name)
    if report.errors:
        report.topics = []


def _claim_alias(report: LoadReport, by_alias: dict[str, Topic], topic: Topic, name: str) -> None:
    key = " ".join(fold(name).split())
    owner = by_alias.setdefault(key, topic)
    if owner.id != topic.id:
        assert topic.source is not None
        report.errors.append(
            Problem(
                topic.source,
                _alias_line(topic.source, name),
                "aliases",
                f"{name!r} is also a name of topic {owner.id!r} ({owner.source}); "
                "an alias may belong to one topic only",
            )
        )


def _alias_line(path: Path, name: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if name in line:
            return number
    return 1


def iter_phrases(topic: Topic) -> Iterator[tuple[str, str]]:
    """Every (field, phrase) of a topic that the index should know, in every language."""
    for text in topic.title.values():
        yield "title", text
    for alias in topic.aliases:
        yield "alias", alias
    for phrases in topic.keywords.values():
        for phrase in phrases:
            yield "keyword", phrase
    for phrases in topic.questions.values():
        for phrase in phrases:
            yield "question", phrase
    for text in topic.answer.values():
        yield "answer", text
    for texts in topic.facets.values():
        for text in texts.values():
            yield "answer", text


# YAML's folded text (">-") joins lines with a space; after Chinese punctuation, or between
# two Han characters, that space is a typo to a Chinese reader.
_CJK_PUNCT_SPACE = re.compile(
    r"(?<=[，。：；！？、）》」』”])[ \t]+|(?<=[\u4e00-\u9fff])[ \t]+(?=[\u4e00-\u9fff])"
)


def _tidy(text: str) -> str:
    return _CJK_PUNCT_SPACE.sub("", text.strip())
