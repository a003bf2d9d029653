"""What the broadcast service needs from storage, as a protocol a backend implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Person:
    """Someone a broadcast goes to: where, and in which language."""

    channel: str
    user_id: str
    chat_id: str
    lang: str


@dataclass(frozen=True, slots=True)
class Draft:
    """A broadcast about to be created: who, to whom, what (by language), and when."""

    created_by: str
    audience: str
    texts: Mapping[str, str]  # language code -> text; frozen when created
    default_lang: str
    scheduled_at: float
    subscribers_only: bool  # recipients who unsubscribe before their turn are skipped


@dataclass(frozen=True, slots=True)
class Report:
    """Where the progress of a broadcast is shown (the staff chat that created it)."""

    channel: str
    chat_id: str
    lang: str
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A broadcast as stored."""

    id: int
    created_by: str
    created_at: float
    audience: str
    texts: dict[str, str]
    default_lang: str
    status: str  # queued, done, cancelled
    scheduled_at: float
    recipients: int
    cancelled_at: float | None = None
    cancelled_by: str | None = None
    finished_at: float | None = None
    report: Report | None = None
    counts: dict[str, int] = field(default_factory=dict)  # outbox rows by status


class BroadcastStore(Protocol):
    """Audiences, broadcasts and their rows' progress."""

    async def subscribers(self, lang: str | None) -> list[Person]:
        """Everyone subscribed (in one language, if given)."""
        ...

    async def tour_people(self, tour_id: str, status: str) -> list[Person]:
        """The confirmed or waitlisted people of one tour."""
        ...

    async def language_of(self, channel: str, user_id: str) -> str | None:
        """The language the person chose or was last answered in."""
        ...

    async def add(self, draft: Draft, recipients: int, report: Report | None, now: float) -> int:
        """Store a broadcast (inside the caller's transaction); its id."""
        ...

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """One broadcast, with its rows counted by status."""
        ...

    async def recent(self, limit: int) -> list[Broadcast]:
        """The latest broadcasts, newest first, with their counts."""
        ...

    async def cancel(self, broadcast_id: int, by: str, now: float) -> bool:
        """Stop a broadcast: its unsent rows become 'cancelled'. False if already over."""
        ...

    async def open_reports(self) -> list[Broadcast]:
        """Broadcasts whose progress is still to be shown or finished."""
        ...

    async def set_report_message(self, broadcast_id: int, message_id: str) -> None:
        """Remember the progress message, to edit it later."""
        ...

    async def finish(self, broadcast_id: int, now: float) -> None:
        """Mark a broadcast whose rows are all handled as done (a cancelled one stays so)."""
        ...

    async def beat(self, name: str, now: float) -> None:
        """Record that a running job is alive."""
        ...

    async def last_beat(self, name: str) -> float | None:
        """When the job last said it was alive."""
        ...
