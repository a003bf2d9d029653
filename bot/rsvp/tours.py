"""knowledge/tours.yaml: the centre's media tours, validated like the topics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.loader import Problem
from bot.knowledge.model import LANGUAGES

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


def load_tours(root: Path, topic_ids: set[str]) -> tuple[dict[str, Tour], list[Problem]]:
    path = root / TOURS_FILE
    if not path.exists():
        return {}, []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return {}, [Problem(path, 1, "(yaml)", f"not valid YAML: {exc}")]
    tours: dict[str, Tour] = {}
    problems: list[Problem] = []
    for number, spec in enumerate(data.get("tours") or []):
        where = f"tours[{number}]"
        try:
            tour = _tour(spec, topic_ids)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(Problem(path, 1, where, str(exc)))
            continue
        if tour.id in tours:
            problems.append(Problem(path, 1, where, f"duplicate tour id {tour.id!r}"))
        tours[tour.id] = tour
    return tours, problems


def _tour(spec: Any, topic_ids: set[str]) -> Tour:
    for field in ("title", "description"):
        missing = [lang for lang in LANGUAGES if not spec.get(field, {}).get(lang)]
        if missing:
            raise ValueError(f"{field} is missing {', '.join(missing)}")
    start, end, closes = (_moment(spec[k]) for k in ("start", "end", "rsvp_closes"))
    if not closes <= start < end:
        raise ValueError("needs rsvp_closes <= start < end")
    unknown = [s for s in spec["stops"] if s not in topic_ids]
    if unknown:
        raise ValueError(f"unknown stop {unknown[0]!r}")
    capacity = spec["capacity"]
    if not isinstance(capacity, int) or capacity < 1:
        raise ValueError("capacity must be a whole number of seats")
    location = spec.get("meeting_location") or {}
    questions = []
    for item in spec.get("questions") or []:
        missing = [lang for lang in LANGUAGES if not item.get("text", {}).get(lang)]
        if missing or not item.get("id"):
            raise ValueError(f"question {item.get('id')!r} needs an id and text in all 8 languages")
        questions.append((str(item["id"]), dict(item["text"])))
    return Tour(
        str(spec["id"]), spec["title"], spec["description"], start, end, closes,
        spec["meeting_point"], tuple(spec["stops"]), capacity, bool(spec.get("sample")),
        location.get("lat"), location.get("lon"), tuple(questions),
    )  # fmt: skip


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} needs a time zone, e.g. +08:00")
    return moment
