"""knowledge/travel.yaml: start places and car minutes between places, validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.loader import Problem
from bot.knowledge.model import LANGUAGES, Topic

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
    path = root / TRAVEL_FILE
    table = TravelTable()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        table.problems.append(Problem(path, 1, "(file)", f"cannot be read: {exc}"))
        return table
    _read_start_places(path, data.get("start_places") or {}, table)
    sites = {t.id for t in topics if t.kind == "route"}
    _read_minutes(path, data.get("minutes") or [], sites | set(table.start_places), table)
    _check_pairs(path, sites, table)
    return table


def _read_start_places(path: Path, places: Any, table: TravelTable) -> None:
    for place_id, spec in places.items():
        name, address = spec.get("name") or {}, spec.get("address") or {}
        missing = [lang for lang in LANGUAGES if lang not in name]
        if missing or "zh" not in address or "en" not in address:
            table.problems.append(
                Problem(path, 1, f"start_places.{place_id}", "needs name in all 8 languages "
                        f"and address en/zh (missing names: {', '.join(missing) or 'none'})")
            )  # fmt: skip
            continue
        table.start_places[place_id] = StartPlace(
            place_id, name, address, spec.get("lat"), spec.get("lon")
        )


def _read_minutes(path: Path, rows: Any, known: set[str], table: TravelTable) -> None:
    for number, row in enumerate(rows):
        where = f"minutes[{number}]"
        if not (isinstance(row, list) and len(row) == 4 and isinstance(row[2], int) and row[2] > 0):
            table.problems.append(
                Problem(path, 1, where, "must be [place, place, minutes, source]")
            )
            continue
        unknown = [p for p in row[:2] if p not in known]
        if unknown:
            table.problems.append(Problem(path, 1, where, f"unknown place {unknown[0]!r}"))
            continue
        table.minutes[frozenset(row[:2])] = row[2]


def _check_pairs(path: Path, sites: set[str], table: TravelTable) -> None:
    """Every two route sites, and every start place with every site, need a time."""
    needed = [frozenset(p) for p in combinations(sorted(sites), 2)]
    needed += [frozenset((s, p)) for p in table.start_places for s in sorted(sites)]
    for pair in needed:
        if pair not in table.minutes:
            a, b = sorted(pair)
            table.problems.append(
                Problem(path, 1, "minutes", f"no travel time between {a} and {b}")
            )
