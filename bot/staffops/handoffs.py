"""Handoffs: a person asks for a human, staff answer, either side closes, or it goes quiet.

The service keeps the rules; the handoff feature turns them into messages. Staff refer to a
handoff as #H12: that tag is written into every forwarded message, so a staff reply to any
of them finds its handoff again, also after a restart (nothing lives in memory).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.staffops.repository import Handoff, Handoffs

__all__ = ["Handoff", "HandoffService", "find_reference", "parse_reference", "reference"]

_TAG = re.compile(r"#H(\d{1,9})\b")


def reference(handoff_id: int) -> str:
    """How staff see a handoff: #H12."""
    return f"#H{handoff_id}"


def find_reference(text: str) -> int | None:
    """The handoff a forwarded message is tagged with: '#H12' anywhere in it."""
    found = _TAG.search(text)
    return int(found.group(1)) if found else None


def parse_reference(text: str) -> int | None:
    """The handoff staff typed: '#H12', 'H12' or '12'."""
    found = find_reference(text)
    if found is not None:
        return found
    bare = text.strip().lstrip("#").upper().removeprefix("H")
    return int(bare) if bare.isdigit() and len(bare) < 10 else None


class HandoffService:
    """Opening, continuing and closing handoffs; quiet ones close by themselves."""

    def __init__(
        self,
        handoffs: Handoffs,
        clock: Callable[[], datetime],
        quiet: timedelta = timedelta(hours=2),
        keep_closed: timedelta = timedelta(days=30),
    ) -> None:
        self.repo = handoffs
        self.clock = clock
        self.quiet = quiet
        self.keep_closed = keep_closed

    def _now(self) -> float:
        return self.clock().timestamp()

    async def open(
        self, channel: str, user_id: str, chat_id: str, name: str, lang: str
    ) -> tuple[Handoff, bool]:
        """The person's open handoff (a new one if none); and whether it is new."""
        return await self.repo.open(channel, user_id, chat_id, name[:100], lang, self._now())

    async def current(self, channel: str, user_id: str) -> Handoff | None:
        """The person's open handoff, unless it has gone quiet."""
        found = await self.repo.open_of(channel, user_id)
        if found is None or found.last_at < self._now() - self.quiet.total_seconds():
            return None
        return found

    async def get(self, handoff_id: int) -> Handoff | None:
        """A handoff by id, open or closed."""
        return await self.repo.get(handoff_id)

    async def forwarded(self, handoff: Handoff) -> None:
        """The person wrote again and it was passed on."""
        await self.repo.touch(handoff.id, self._now(), message=True, reply=False)

    async def answered(self, handoff: Handoff) -> None:
        """A staff reply was queued for the person."""
        await self.repo.touch(handoff.id, self._now(), message=False, reply=True)

    async def close(self, handoff_id: int) -> bool:
        """Close a handoff; False if it was not open."""
        return await self.repo.close(handoff_id, self._now())

    async def close_quiet(self) -> list[Handoff]:
        """Close the handoffs quiet for longer than the quiet period; the closed ones."""
        closed = []
        for handoff in await self.repo.quiet_since(self._now() - self.quiet.total_seconds()):
            if await self.repo.close(handoff.id, self._now()):
                closed.append(handoff)
        return closed

    async def open_ones(self) -> list[Handoff]:
        """Every open handoff, oldest first."""
        return await self.repo.open_ones()

    async def purge(self) -> int:
        """Delete handoffs closed longer ago than they are kept."""
        return await self.repo.purge_closed(self._now() - self.keep_closed.total_seconds())
