"""Day plans: the order of sites that minimises driving, timed against opening hours.

Pure and deterministic: the caller passes the date and the start; nothing reads a clock.
Up to 8 sites the order is exact (Held–Karp over subsets, 2^n·n² steps); sites that cannot
be visited that day (closed, or the day runs out) are reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import combinations

from bot.itinerary.travel import TravelTable
from bot.knowledge.model import OpeningHours, Topic

MAX_SITES = 8
LUNCH_MINUTES = 60
LUNCH_FROM = time(11, 30)  # lunch is taken at the first break after this
DAY_END = time(19, 0)  # plans that run later are "too full"
DEFAULT_VISIT_MINUTES = 90


@dataclass(frozen=True, slots=True)
class Stop:
    site_id: str
    travel_minutes: int
    arrive: datetime
    leave: datetime
    wait_minutes: int = 0  # early arrival before opening


@dataclass(frozen=True, slots=True)
class Skipped:
    site_id: str
    reason: str  # "closed", "after-closing", "day-full"


@dataclass
class DayPlan:
    day: date
    start_place: str
    start: datetime
    stops: list[Stop] = field(default_factory=list)
    lunch: tuple[datetime, datetime] | None = None
    skipped: list[Skipped] = field(default_factory=list)
    by_appointment: list[str] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        last = [self.start] + [s.leave for s in self.stops]
        if self.lunch:
            last.append(self.lunch[1])
        return max(last)

    @property
    def travel_minutes(self) -> int:
        return sum(s.travel_minutes for s in self.stops)


class Planner:
    def __init__(self, topics: list[Topic], travel: TravelTable) -> None:
        self.sites = {t.id: t for t in topics if t.kind == "route"}
        self.travel = travel

    def plan(self, site_ids: list[str], day: date, start_place: str, start: datetime) -> DayPlan:
        wanted = list(dict.fromkeys(site_ids))
        if not 1 <= len(wanted) <= MAX_SITES:
            raise ValueError(f"choose between 1 and {MAX_SITES} sites")
        for site in [*wanted, start_place]:
            if site not in self.sites and site not in self.travel.start_places:
                raise ValueError(f"unknown place {site!r}")
        closed, open_today = [], []
        for site in wanted:
            hours = self.sites[site].opening_hours
            if hours and hours.kind == "hours" and day.weekday() not in hours.days:
                closed.append(Skipped(site, "closed"))
            else:
                open_today.append(site)
        plan = self._fitted(day, start_place, start, open_today)
        plan.skipped[:0] = closed
        return plan

    def _fitted(self, day: date, start_place: str, start: datetime, sites: list[str]) -> DayPlan:
        """The least-driving order, then, while a site does not fit, the best place to
        move it to: most sites visited first, least driving second."""
        best = self._timed(
            day, start_place, start, self._best_order(sites, start_place) if sites else []
        )
        improved = True
        while improved and best.skipped:
            improved = False
            order = [s.site_id for s in best.stops] + [s.site_id for s in best.skipped]
            for moved in [s.site_id for s in best.skipped]:
                rest = [s for s in order if s != moved]
                for position in range(len(rest)):
                    trial = self._timed(
                        day, start_place, start, [*rest[:position], moved, *rest[position:]]
                    )
                    if _rank(trial) < _rank(best):
                        best, improved = trial, True
        return best

    def _timed(self, day: date, start_place: str, start: datetime, order: list[str]) -> DayPlan:
        plan = DayPlan(day, start_place, start)
        if order:
            self._simulate(plan, order)
        return plan

    def _best_order(self, sites: list[str], start_place: str) -> list[str]:
        """Held–Karp: the visiting order with the least total driving from the start."""
        between = self.travel.between
        best: dict[tuple[frozenset[str], str], tuple[int, list[str]]] = {
            (frozenset([s]), s): (between(start_place, s), [s]) for s in sites
        }
        for size in range(2, len(sites) + 1):
            for subset in map(frozenset, combinations(sites, size)):
                for last in subset:
                    rest = subset - {last}
                    best[(subset, last)] = min(
                        (
                            best[(rest, prev)][0] + between(prev, last),
                            [*best[(rest, prev)][1], last],
                        )
                        for prev in rest
                    )
        everything = frozenset(sites)
        return min(best[(everything, last)] for last in sites)[1]

    def _simulate(self, plan: DayPlan, order: list[str]) -> None:
        clock, here = plan.start, plan.start_place
        day_end = datetime.combine(plan.day, DAY_END, plan.start.tzinfo)
        for site in order:
            clock = self._maybe_lunch(plan, clock)
            topic = self.sites[site]
            travel = self.travel.between(here, site)
            arrive = clock + timedelta(minutes=travel)
            opens_at = _at(plan, topic.opening_hours, "open")
            begin = max(arrive, opens_at) if opens_at else arrive
            leave = begin + timedelta(minutes=topic.visit_minutes or DEFAULT_VISIT_MINUTES)
            closes_at = _at(plan, topic.opening_hours, "close")
            if closes_at and leave > closes_at:
                plan.skipped.append(Skipped(site, "after-closing"))
                continue
            if leave > day_end:
                plan.skipped.append(Skipped(site, "day-full"))
                continue
            wait = int((begin - arrive).total_seconds() // 60)
            plan.stops.append(Stop(site, travel, arrive, leave, wait))
            if topic.opening_hours and topic.opening_hours.kind == "by-appointment":
                plan.by_appointment.append(site)
            clock, here = leave, site
        self._maybe_lunch(plan, clock, final=True)

    @staticmethod
    def _maybe_lunch(plan: DayPlan, clock: datetime, final: bool = False) -> datetime:
        """Lunch at the first break after 11:30, or after the last visit if none came."""
        if plan.lunch or not plan.stops:
            return clock
        if clock.time() >= LUNCH_FROM or (final and clock.time() >= time(13, 0)):
            plan.lunch = (clock, clock + timedelta(minutes=LUNCH_MINUTES))
            return plan.lunch[1]
        return clock


def _rank(plan: DayPlan) -> tuple[int, int, datetime]:
    return (len(plan.skipped), plan.travel_minutes, plan.end)


def _at(plan: DayPlan, hours: OpeningHours | None, which: str) -> datetime | None:
    if hours is None or hours.kind != "hours":
        return None
    minute = hours.open_minute if which == "open" else hours.close_minute
    return datetime.combine(plan.day, time(minute // 60, minute % 60), plan.start.tzinfo)
