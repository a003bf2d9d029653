"""Broadcast rules: who an audience is, creating a broadcast, progress, cancelling.

The service returns data; the feature renders each recipient's message and queues the
rows, in the same transaction as `create`, so a broadcast exists with all its rows or not
at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.broadcast.repository import Broadcast, BroadcastStore, Draft, Person, Report

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOUR_STATUSES = ("confirmed", "waitlisted")
# Rows still to be sent; every other status is final.
UNFINISHED = ("pending", "sending")
# The running bot's jobs beat this often; older than STALE_AFTER_S means no bot is running.
HEARTBEAT = "jobs"
STALE_AFTER_S = 60.0
MAX_TEXT = 20000  # five Telegram messages; longer is surely a mistake


class BroadcastError(ValueError):
    """A broadcast that cannot be made: a bad audience, time, or text."""


@dataclass(frozen=True, slots=True)
class Audience:
    """all | lang:CODE | tour:ID[:waitlisted] | staff | me."""

    kind: str
    arg: str = ""
    status: str = "confirmed"

    def __str__(self) -> str:
        if self.kind == "lang":
            return f"lang:{self.arg}"
        if self.kind == "tour":
            return f"tour:{self.arg}" + (":waitlisted" if self.status == "waitlisted" else "")
        return self.kind

    @property
    def subscribers_only(self) -> bool:
        """Subscriber audiences skip whoever unsubscribes before their turn."""
        return self.kind in ("all", "lang")


def parse_audience(text: str, languages: frozenset[str]) -> Audience:
    """The audience a string names; BroadcastError for anything else."""
    kind, _, rest = text.strip().partition(":")
    if kind in ("all", "staff", "me") and not rest:
        return Audience(kind)
    if kind == "lang" and rest in languages:
        return Audience("lang", rest)
    if kind == "tour" and rest:
        tour, _, status = rest.partition(":")
        if tour and status in ("", *TOUR_STATUSES):
            return Audience("tour", tour, status or "confirmed")
    raise BroadcastError(f"unknown audience {text[:40]!r}")


def parse_when(text: str, default_zone: ZoneInfo = SHANGHAI) -> datetime:
    """'2025-06-01 09:00' (Asia/Shanghai), '… Europe/Paris', or ISO with an offset."""
    parts = text.split()
    named = len(parts) > 1 and ("/" in parts[-1] or parts[-1].upper() == "UTC")
    zone_name = parts.pop() if named else ""
    try:
        moment = datetime.fromisoformat("T".join(parts))
        zone = ZoneInfo(zone_name) if zone_name else default_zone
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise BroadcastError(f"unreadable time {text[:40]!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Progress:
    """A broadcast's rows by outcome."""

    sent: int
    pending: int
    blocked: int
    failed: int
    outside_window: int
    skipped: int
    cancelled: int

    @property
    def total(self) -> int:
        """Every row."""
        return (self.sent + self.pending + self.blocked + self.failed + self.outside_window
                + self.skipped + self.cancelled)  # fmt: skip

    @property
    def finished(self) -> bool:
        """Nothing is left to send."""
        return self.pending == 0


def progress_of(broadcast: Broadcast) -> Progress:
    """The counts of a stored broadcast."""
    c = broadcast.counts
    return Progress(
        c.get("sent", 0), sum(c.get(s, 0) for s in UNFINISHED), c.get("blocked", 0),
        c.get("failed", 0), c.get("outside_window", 0), c.get("skipped", 0),
        c.get("cancelled", 0),
    )  # fmt: skip


class BroadcastService:
    """Audiences, creation, progress and cancelling, on an injected store and clock."""

    def __init__(
        self, store: BroadcastStore, clock: Callable[[], float], staff_ids: frozenset[str]
    ) -> None:
        self.store = store
        self.clock = clock
        self.staff_ids = staff_ids

    def is_staff(self, who: str) -> bool:
        """Whether "channel:user" is one of the configured staff."""
        return who in self.staff_ids

    async def recipients(self, audience: Audience, me: Person | None = None) -> list[Person]:
        """The people an audience is, now; `me` is the staff member testing."""
        if audience.kind == "all":
            return await self.store.subscribers(None)
        if audience.kind == "lang":
            return await self.store.subscribers(audience.arg)
        if audience.kind == "tour":
            return await self.store.tour_people(audience.arg, audience.status)
        if audience.kind == "me":
            return [me] if me else []
        return [await self._staff_member(who) for who in sorted(self.staff_ids)]

    async def _staff_member(self, who: str) -> Person:
        channel, _, user_id = who.partition(":")
        lang = await self.store.language_of(channel, user_id)
        # Telegram's private chat with a person has the person's id.
        return Person(channel, user_id, user_id, lang or "en")

    async def create(
        self, draft: Draft, recipients: int, report: Report | None = None
    ) -> Broadcast:
        """Store the broadcast; call inside the transaction that queues its rows."""
        if not self.is_staff(draft.created_by):
            raise BroadcastError("only staff can broadcast")
        _check_texts(draft.texts, draft.default_lang)
        broadcast_id = await self.store.add(draft, recipients, report, self.clock())
        created = await self.store.get(broadcast_id)
        assert created is not None
        return created

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """One broadcast with its counts."""
        return await self.store.get(broadcast_id)

    async def recent(self, limit: int = 10) -> list[Broadcast]:
        """The latest broadcasts, newest first."""
        return await self.store.recent(limit)

    async def cancel(self, broadcast_id: int, by: str) -> bool:
        """Stop the unsent rest of a broadcast; what was sent stays sent."""
        if not self.is_staff(by):
            raise BroadcastError("only staff can cancel a broadcast")
        return await self.store.cancel(broadcast_id, by, self.clock())

    async def bot_running(self) -> bool:
        """Whether a running bot's jobs beat recently (so its outbox will deliver)."""
        last = await self.store.last_beat(HEARTBEAT)
        return last is not None and self.clock() - last < STALE_AFTER_S


def _check_texts(texts: Mapping[str, str], default_lang: str) -> None:
    if not texts.get(default_lang, "").strip():
        raise BroadcastError("the default version is empty")
    if any(len(text) > MAX_TEXT for text in texts.values()):
        raise BroadcastError(f"a version is longer than {MAX_TEXT} characters")
