"""knowledge/tours.yaml: the centre's media tours, validated like the topics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.knowledge.model import LANGUAGES
from bot.knowledge.yamlfile import KnowledgeError, Problem, mapping, read_yaml

TOURS_FILE = "tours.yaml"


@dataclass(frozen=True, slots=True)
class Tour:
    id: str
    title: dict[str, str]
    description: dict[str, str]
    start: datetime
    end: datetime
    rsvp_closes: datetime
    meeting_point: dict[str, str]
    stops: tuple[str, ...]
    capacity: int
    sample: bool = False
    meeting_lat: float | None = None
    meeting_lon: float | None = None
    # Extra form questions: (id, question by language), asked after the standard ones.
    questions: tuple[tuple[str, dict[str, str]], ...] = ()


class _Invalid(ValueError):
    """A tour field that is wrong; `where` is its path inside the tour."""

    def __init__(self, where: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.where = where


def load_tours(root: Path, topic_ids: set[str]) -> tuple[dict[str, Tour], list[Problem]]:
    """The tours of tours.yaml (none if absent) and every problem, with line and field."""
    path = root / TOURS_FILE
    if not path.exists():
        return {}, []
    try:
        doc = read_yaml(path)
    except KnowledgeError as exc:
        return {}, exc.errors
    problems: list[Problem] = []
    specs = mapping(doc, (), problems, "tours: [a list of tours]").get("tours") or []
    if not isinstance(specs, list):
        return {}, [*problems, doc.problem(("tours",), "must be a list of tours")]
    tours: dict[str, Tour] = {}
    for number, spec in enumerate(specs):
        try:
            tour = _tour(spec, topic_ids)
        except _Invalid as exc:
            problems.append(doc.problem(("tours", number, *exc.where), str(exc)))
            continue
        except KeyError as exc:
            problems.append(doc.problem(("tours", number), f"missing field {exc.args[0]!r}"))
            continue
        except (TypeError, ValueError, AttributeError) as exc:
            problems.append(doc.problem(("tours", number), str(exc)))
            continue
        if tour.id in tours:
            problems.append(doc.problem(("tours", number, "id"), f"duplicate tour id {tour.id!r}"))
        tours[tour.id] = tour
    return tours, problems


def _tour(spec: Any, topic_ids: set[str]) -> Tour:
    if not isinstance(spec, dict):
        raise _Invalid((), "a tour must be a mapping of fields (id:, title:, stops: …)")
    for field in ("title", "description"):
        missing = [lang for lang in LANGUAGES if not (spec.get(field) or {}).get(lang)]
        if missing:
            raise _Invalid((field,), f"missing {', '.join(missing)}")
    start, end, closes = (_moment(spec, k) for k in ("start", "end", "rsvp_closes"))
    if not closes <= start < end:
        raise _Invalid(("start",), "needs rsvp_closes <= start < end")
    stops = spec["stops"] if isinstance(spec["stops"], list) else []
    for number, stop in enumerate(stops):
        if stop not in topic_ids:
            raise _Invalid(("stops", number), f"unknown stop {stop!r}: no topic has this id")
    capacity = spec["capacity"]
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise _Invalid(("capacity",), "must be a whole number of seats")
    location = spec.get("meeting_location") or {}
    return Tour(
        str(spec["id"]), spec["title"], spec["description"], start, end, closes,
        spec["meeting_point"], tuple(stops), capacity, bool(spec.get("sample")),
        location.get("lat"), location.get("lon"), _questions(spec),
    )  # fmt: skip


def _questions(spec: dict[str, Any]) -> tuple[tuple[str, dict[str, str]], ...]:
    questions = []
    for number, item in enumerate(spec.get("questions") or []):
        missing = [lang for lang in LANGUAGES if not item.get("text", {}).get(lang)]
        if missing or not item.get("id"):
            raise _Invalid(("questions", number), "needs an id and text in all 8 languages")
        questions.append((str(item["id"]), dict(item["text"])))
    return tuple(questions)


def _moment(spec: dict[str, Any], field: str) -> datetime:
    value = spec[field]
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise _Invalid(
            (field,), f"{value!r} is not a date and time like 2027-01-16T08:30:00+08:00"
        ) from exc
    if moment.tzinfo is None:
        raise _Invalid((field,), f"{value!r} needs a time zone, e.g. +08:00")
    return moment
