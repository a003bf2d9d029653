"""knowledge/travel.yaml: start places and car minutes between places, validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from bot.knowledge.model import LANGUAGES, Topic
from bot.knowledge.yamlfile import KnowledgeError, Problem, YamlDoc, mapping, read_yaml

TRAVEL_FILE = "travel.yaml"


@dataclass(frozen=True, slots=True)
class StartPlace:
    id: str
    name: dict[str, str]
    address: dict[str, str]
    lat: float | None
    lon: float | None


@dataclass
class TravelTable:
    start_places: dict[str, StartPlace] = field(default_factory=dict)
    minutes: dict[frozenset[str], int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def between(self, a: str, b: str) -> int:
        return 0 if a == b else self.minutes[frozenset((a, b))]


def load_travel(root: Path, topics: list[Topic]) -> TravelTable:
    """Read travel.yaml; every problem (bad row, unknown place, missing pair) is listed."""
    table = TravelTable()
    try:
        doc = read_yaml(root / TRAVEL_FILE)
    except KnowledgeError as exc:
        table.problems.extend(exc.errors)
        return table
    places = mapping(doc, ("start_places",), table.problems, "place id to name and address")
    _read_start_places(doc, places, table)
    sites = {t.id for t in topics if t.kind == "route"}
    _read_minutes(doc, sites | set(table.start_places), table)
    _check_pairs(doc, sites, table)
    return table


def _read_start_places(doc: YamlDoc, places: dict[Any, Any], table: TravelTable) -> None:
    for place_id, spec in places.items():
        where = ("start_places", place_id)
        spec = spec if isinstance(spec, dict) else {}
        name, address = _texts(spec, "name"), _texts(spec, "address")
        missing = [lang for lang in LANGUAGES if lang not in name]
        if missing or "zh" not in address or "en" not in address:
            table.problems.append(
                doc.problem(
                    where,
                    "needs name in all 8 languages and address "
                    f"en/zh (missing names: {', '.join(missing) or 'none'})",
                )
            )
            continue  # fmt: skip
        table.start_places[str(place_id)] = StartPlace(
            str(place_id), name, address, spec.get("lat"), spec.get("lon")
        )


def _read_minutes(doc: YamlDoc, known: set[str], table: TravelTable) -> None:
    rows = doc.data.get("minutes") if isinstance(doc.data, dict) else None
    if not isinstance(rows, list):
        table.problems.append(
            doc.problem(("minutes",), "must be a list of [place, place, minutes, source]")
        )
        return  # fmt: skip
    for number, row in enumerate(rows):
        where = ("minutes", number)
        if not (isinstance(row, list) and len(row) == 4 and isinstance(row[2], int) and row[2] > 0):
            table.problems.append(doc.problem(where, "must be [place, place, minutes, source]"))
            continue
        unknown = [p for p in row[:2] if p not in known]
        if unknown:
            table.problems.append(doc.problem(where, f"unknown place {unknown[0]!r}"))
            continue
        table.minutes[frozenset(row[:2])] = row[2]


def _check_pairs(doc: YamlDoc, sites: set[str], table: TravelTable) -> None:
    """Every two route sites, and every start place with every site, need a time."""
    needed = [frozenset(p) for p in combinations(sorted(sites), 2)]
    needed += [frozenset((s, p)) for p in table.start_places for s in sorted(sites)]
    for pair in needed:
        if pair not in table.minutes:
            a, b = sorted(pair)
            table.problems.append(doc.problem(("minutes",), f"no travel time between {a} and {b}"))


def _texts(spec: dict[Any, Any], key: str) -> dict[str, str]:
    value = spec.get(key)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
