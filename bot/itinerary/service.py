"""The itinerary service: the planner over the current knowledge base and travel table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.itinerary.planner import DayPlan, Planner
from bot.itinerary.travel import load_travel
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.service import KnowledgeService

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ItineraryService:
    """Day plans over the current knowledge base and travel table."""

    def __init__(self, knowledge: KnowledgeService, clock: Callable[[], datetime]) -> None:
        self.knowledge = knowledge
        self.clock = clock
        self._planner: Planner | None = None  # built on first use
        self._version = knowledge.version

    @property
    def planner(self) -> Planner:
        """The planner over the current knowledge; rebuilt after a staff /reload."""
        if self._planner is None or self._version != self.knowledge.version:
            self._planner, self._version = self._build(), self.knowledge.version
        return self._planner

    def install(self, planner: Planner | None) -> None:
        """Plan with this planner, built for the knowledge version now serving (None: build
        it when first asked, which reports the travel table's problems)."""
        self._planner, self._version = planner, self.knowledge.version

    def _build(self) -> Planner:
        topics = self.knowledge.topics()
        travel = load_travel(self.knowledge.root, topics)
        if travel.problems:
            raise KnowledgeError(travel.problems)
        return Planner(topics, travel)

    def today(self) -> date:
        return self.clock().astimezone(SHANGHAI).date()

    def plan(self, sites: list[str], day: date, start_place: str, start: time) -> DayPlan:
        begin = datetime.combine(day, start, SHANGHAI)
        return self.planner.plan(sites, day, start_place, begin)

    @property
    def sites(self) -> list[str]:
        return sorted(self.planner.sites)

    @property
    def start_places(self) -> list[str]:
        return list(self.planner.travel.start_places)
