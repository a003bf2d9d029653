"""The whole knowledge set — topics, facets, scope, intents, travel table, tours — validated
together, and every service switched to it at once.

A staff edit that breaks any part (a route without travel times, a tour stopping at a
removed route, a broken facets.yaml) is refused as a whole with every problem's file, line
and field, and the old set keeps serving. Start-up uses the same checks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.itinerary.planner import Planner
from bot.itinerary.service import ItineraryService
from bot.itinerary.travel import TRAVEL_FILE, load_travel
from bot.knowledge.loader import KnowledgeError, Problem
from bot.knowledge.model import Topic
from bot.knowledge.service import KnowledgeService, LoadedKnowledge, read_files
from bot.rsvp.service import RsvpService
from bot.rsvp.tours import Tour, load_tours


@dataclass(frozen=True, slots=True)
class KnowledgeSet:
    """One validated version of every knowledge file, built but not yet serving."""

    knowledge: LoadedKnowledge
    planner: Planner | None  # None without a travel.yaml: day plans are off
    tours: dict[str, Tour]


def companions(root: Path, topics: list[Topic]) -> tuple[Planner | None, dict[str, Tour]]:
    """The day planner and the tours for these topics; KnowledgeError lists every problem."""
    problems: list[Problem] = []
    planner = None
    if (root / TRAVEL_FILE).exists():
        travel = load_travel(root, topics)
        problems += travel.problems
        planner = Planner(topics, travel)
    tours, tour_problems = load_tours(root, {t.id for t in topics})
    problems += tour_problems
    if problems:
        raise KnowledgeError(problems)
    return planner, tours


def prepare_set(knowledge: KnowledgeService) -> KnowledgeSet:
    """Read and check every file, then index (embedding only changed phrases): blocking."""
    files = read_files(knowledge.root)
    planner, tours = companions(knowledge.root, files.topics)
    return KnowledgeSet(knowledge.prepare(files), planner, tours)


class Reloader:
    """Staff /reload: the new set is built off the event loop and switched in only whole."""

    def __init__(
        self, knowledge: KnowledgeService, itinerary: ItineraryService, rsvp: RsvpService
    ) -> None:
        self.knowledge = knowledge
        self.itinerary = itinerary
        self.rsvp = rsvp
        self._one_at_a_time = asyncio.Lock()

    async def reload(self) -> int:
        """Build the set in a worker thread; switch to it; the number of topics.
        KnowledgeError (nothing switched) when any part has problems."""
        async with self._one_at_a_time:
            new = await asyncio.to_thread(prepare_set, self.knowledge)
            return self.install(new)

    def install(self, new: KnowledgeSet) -> int:
        """Switch every service without awaiting in between, so no message sees a mix."""
        count = self.knowledge.install(new.knowledge)
        self.itinerary.install(new.planner)
        self.rsvp.replace_tours(new.tours)
        return count
