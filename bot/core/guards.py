"""Protections the inbound pipeline applies to every channel: flood limits, per-chat order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from enum import Enum

# A person can type or tap about two messages a second in bursts; 20 in 10 s is a script.
FLOOD_LIMIT = 20
FLOOD_WINDOW_S = 10.0
# Idle senders are forgotten every this many checks, so memory follows the active senders.
PRUNE_EVERY = 1000


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # first message over the limit: tell the user once
    DROP = "drop"


class FloodGuard:
    """Sliding-window message limit per sender; other senders are never affected."""

    def __init__(
        self,
        clock: Callable[[], float],
        limit: int = FLOOD_LIMIT,
        window_s: float = FLOOD_WINDOW_S,
    ) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window_s
        self._seen: dict[Hashable, deque[float]] = {}
        self._warned: set[Hashable] = set()
        self._checks = 0

    def check(self, sender: Hashable) -> Verdict:
        """Allow, warn once, or drop this sender's next message."""
        self._checks += 1
        if self._checks % PRUNE_EVERY == 0:
            self.forget_idle()
        now = self._clock()
        times = self._seen.setdefault(sender, deque())
        while times and now - times[0] >= self._window:
            times.popleft()
        if len(times) < self._limit:
            times.append(now)
            self._warned.discard(sender)
            return Verdict.ALLOW
        if sender in self._warned:
            return Verdict.DROP
        self._warned.add(sender)
        return Verdict.WARN

    @property
    def senders(self) -> int:
        """How many senders are remembered (for the memory benchmark)."""
        return len(self._seen)

    def forget_idle(self) -> None:
        """Drop senders with no message in the window, so memory stays bounded."""
        now = self._clock()
        for sender in [s for s, t in self._seen.items() if not t or now - t[-1] >= self._window]:
            del self._seen[sender]
            self._warned.discard(sender)


class KeyedLocks:
    """One lock per chat: a chat's messages are answered in order, chats in parallel."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold the key's lock; the lock is dropped when nobody waits for it."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]
