"""What the staff-operations services need from storage, as protocols a backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Handoff:
    """A person's conversation passed to the staff; `id` is what staff see as #H12."""

    id: int
    channel: str
    user_id: str
    chat_id: str
    name: str
    lang: str
    status: str  # open, closed
    opened_at: float
    last_at: float
    messages: int = 0  # messages forwarded to the staff
    replies: int = 0  # staff replies delivered back


class Handoffs(Protocol):
    """Handoffs, one open at most per person."""

    async def open(self, channel: str, user_id: str, chat_id: str, name: str, lang: str,
                   now: float) -> tuple[Handoff, bool]:  # fmt: skip
        """The person's open handoff, or a new one; and whether it is new."""
        ...

    async def get(self, handoff_id: int) -> Handoff | None:
        """A handoff by id."""
        ...

    async def open_of(self, channel: str, user_id: str) -> Handoff | None:
        """The person's open handoff, if any."""
        ...

    async def touch(self, handoff_id: int, now: float, message: bool, reply: bool) -> None:
        """Note activity: a message forwarded, or a staff reply delivered."""
        ...

    async def close(self, handoff_id: int, now: float) -> bool:
        """Close it; False if it was not open."""
        ...

    async def quiet_since(self, before: float) -> list[Handoff]:
        """Open handoffs with no activity since `before`."""
        ...

    async def open_ones(self) -> list[Handoff]:
        """Every open handoff, oldest first."""
        ...

    async def purge_closed(self, before: float) -> int:
        """Delete handoffs closed before `before`; how many."""
        ...


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A question the bot could not answer well: no asker kept, only what was asked."""

    asked_at: float
    lang: str
    text: str
    guess: str  # the best-guess topic id, '' when none
    confidence: float


class UnansweredQuestions(Protocol):
    """Questions kept for the staff to improve the knowledge base."""

    async def keep(self, question: Unanswered) -> None:
        """Store one question."""
        ...

    async def since(self, when: float) -> list[Unanswered]:
        """The questions asked since `when`."""
        ...

    async def purge(self, before: float) -> int:
        """Delete questions asked before `before`; how many."""
        ...


class UsageEvents(Protocol):
    """Counters per (day, channel, language, kind, topic); never who or what was asked."""

    async def count(self, day: str, channel: str, lang: str, kind: str, topic: str = "") -> None:
        """Add one to a counter."""
        ...

    async def counters(self, since_day: str) -> list[tuple[str, str, str, str, str, int]]:
        """(day, channel, lang, kind, topic, count) rows since `since_day` (YYYY-MM-DD)."""
        ...


class UsageSources(Protocol):
    """The other counts the figures need, read from the bot's other tables."""

    async def people(self) -> list[tuple[str, str, int]]:
        """(channel, language, people) of everyone the bot keeps a conversation with."""
        ...

    async def rsvps(self) -> list[tuple[str, str, int]]:
        """(tour id, status, bookings)."""
        ...

    async def subscribers(self) -> int:
        """People subscribed to announcements."""
        ...

    async def broadcasts(self) -> int:
        """Broadcast messages queued or sent."""
        ...

    async def handoffs(self) -> tuple[int, int]:
        """(open, all) handoffs."""
        ...


class AuditEntries(Protocol):
    """The staff audit log, read side."""

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """The latest entries, newest first: at, actor, action, detail."""
        ...
