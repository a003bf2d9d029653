"""Usage figures for the staff: counts only, no message text and no ids."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bot.staffops.repository import UsageEvents, UsageSources

TOP_TOPICS = 10


@dataclass(slots=True)
class Figures:
    """Everything `/stats` and `python -m bot stats` show."""

    since: str
    people: dict[str, dict[str, int]] = field(default_factory=dict)  # channel -> lang -> n
    questions_per_day: dict[str, dict[str, int]] = field(default_factory=dict)  # day -> lang
    answered_per_day: dict[str, int] = field(default_factory=dict)
    questions: int = 0
    answered: int = 0
    top_topics: list[tuple[str, int]] = field(default_factory=list)
    rsvps: dict[str, dict[str, int]] = field(default_factory=dict)  # tour -> status -> n
    subscribers: int = 0
    broadcasts: int = 0
    handoffs_open: int = 0
    handoffs: int = 0

    @property
    def answer_rate(self) -> float:
        """Share of questions answered, 0..1 (0 with no questions)."""
        return self.answered / self.questions if self.questions else 0.0

    def rate_on(self, day: str) -> float:
        """Share of a day's questions answered."""
        asked = sum(self.questions_per_day.get(day, {}).values())
        return self.answered_per_day.get(day, 0) / asked if asked else 0.0


async def usage_figures(events: UsageEvents, sources: UsageSources, since_day: str) -> Figures:
    """The figures from `since_day` (YYYY-MM-DD) on; people, RSVPs and the rest as of now."""
    figures = Figures(since_day)
    _add_counters(figures, await events.counters(since_day))
    for channel, lang, people in await sources.people():
        figures.people.setdefault(channel, {})[lang] = people
    for tour, status, count in await sources.rsvps():
        figures.rsvps.setdefault(tour, {})[status] = count
    figures.subscribers = await sources.subscribers()
    figures.broadcasts = await sources.broadcasts()
    figures.handoffs_open, figures.handoffs = await sources.handoffs()
    return figures


def _add_counters(figures: Figures, rows: list[tuple[str, str, str, str, str, int]]) -> None:
    per_day: defaultdict[str, Counter[str]] = defaultdict(Counter)
    topics: Counter[str] = Counter()
    for day, _channel, lang, kind, topic, count in rows:
        if kind == "question":
            per_day[day][lang] += count
            figures.questions += count
        elif kind == "answered":
            figures.answered += count
            figures.answered_per_day[day] = figures.answered_per_day.get(day, 0) + count
            topics[topic] += count
    figures.questions_per_day = {day: dict(per_day[day]) for day in sorted(per_day)}
    figures.top_topics = topics.most_common(TOP_TOPICS)
