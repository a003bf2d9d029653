"""What people ask: counters for the figures, and the questions the bot could not answer.

Counters hold a day, a channel, a language, a kind and a topic, never who asked or what.
An unanswered question keeps its text, language, time and the best guess, never who asked,
for `keep_days`; staff read them grouped by similarity to see what the knowledge lacks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from bot.staffops.repository import Unanswered, UnansweredQuestions, UsageEvents

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Two questions of one language whose words overlap this much (rapidfuzz token_set_ratio,
# 0-100) are one group: "opening hours of Yiwu market?" and "Yiwu market opening hours".
SAME_QUESTION = 80.0
MAX_TEXT = 500  # a question longer than this is kept cut


@dataclass(slots=True)
class QuestionGroup:
    """Similar unanswered questions in one language, with how often they were asked."""

    lang: str
    example: str
    count: int = 0
    last_at: float = 0.0
    variants: list[str] = field(default_factory=list)
    guesses: Counter[str] = field(default_factory=Counter)

    @property
    def guess(self) -> str:
        """The topic most often guessed for the group, or ''."""
        return self.guesses.most_common(1)[0][0] if self.guesses else ""


class QuestionsService:
    """Counts questions and keeps the unanswered ones for the staff."""

    def __init__(
        self,
        events: UsageEvents,
        unanswered: UnansweredQuestions,
        clock: Callable[[], datetime],
        keep_days: int = 90,
    ) -> None:
        self.events = events
        self.unanswered = unanswered
        self.clock = clock
        self.keep_days = keep_days

    def today(self) -> str:
        """Today's date in Jinhua, YYYY-MM-DD."""
        return self.clock().astimezone(SHANGHAI).date().isoformat()

    async def record(self, channel: str, lang: str, answered: bool, topic: str, text: str,
                     confidence: float) -> None:  # fmt: skip
        """Count a question; keep its text when it was not answered (`topic` is the guess)."""
        day = self.today()
        await self.events.count(day, channel, lang, "question")
        await self.events.count(day, channel, lang, "answered" if answered else "unanswered",
                                topic if answered else "")  # fmt: skip
        if not answered:
            question = Unanswered(self.clock().timestamp(), lang, " ".join(text.split())[:MAX_TEXT],
                                  topic, round(confidence, 3))  # fmt: skip
            await self.unanswered.keep(question)

    async def groups(self, since: datetime | None = None) -> list[QuestionGroup]:
        """Unanswered questions since `since`, grouped by language and similarity, most
        frequent first."""
        start = since or self.clock() - timedelta(days=self.keep_days)
        return group_questions(await self.unanswered.since(start.timestamp()))

    async def purge(self) -> int:
        """Delete questions older than the keeping period."""
        cutoff = self.clock() - timedelta(days=self.keep_days)
        return await self.unanswered.purge(cutoff.timestamp())


def group_questions(questions: list[Unanswered]) -> list[QuestionGroup]:
    """Group by language, then by word overlap; most frequent, then most recent, first."""
    groups: list[QuestionGroup] = []
    keys: list[str] = []
    for question in sorted(questions, key=lambda q: q.asked_at, reverse=True):
        key = default_process(question.text)
        group = _matching(groups, keys, question.lang, key)
        if group is None:
            group = QuestionGroup(question.lang, question.text, last_at=question.asked_at)
            groups.append(group)
            keys.append(key)
        group.count += 1
        if question.text not in group.variants:
            group.variants.append(question.text)
        if question.guess:
            group.guesses[question.guess] += 1
    return sorted(groups, key=lambda g: (-g.count, -g.last_at))


def _matching(
    groups: list[QuestionGroup], keys: list[str], lang: str, key: str
) -> QuestionGroup | None:
    for group, group_key in zip(groups, keys, strict=True):
        if group.lang == lang and fuzz.token_set_ratio(key, group_key) >= SAME_QUESTION:
            return group
    return None
