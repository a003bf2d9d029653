"""The outbox worker: delivers queued messages through each channel's Sender, paced.

Guarantee: a message is claimed (marked 'sending') before the send and finished after it.
A crash between the platform accepting a message and the commit of 'sent' leaves that one
message 'sending'; the next start sends it again. So: nothing is lost, and a crash causes at
most one duplicate per message in flight (the worker sends one at a time, so at most one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping

from bot.core.delivery import Delivery, Sender, SendResult
from bot.core.repositories import Outbox, Queued
from bot.core.types import Channel

log = logging.getLogger(__name__)

# Telegram allows about 30 messages a second to different chats; stay under it.
DEFAULT_RATE_PER_S = 25.0
# And about one a second to the same chat.
PER_CHAT_INTERVAL_S = 1.0
# One batch is two seconds of sending at 25/s: a reminder queued meanwhile waits at most that.
CLAIM_BATCH = 50
BROADCAST = "broadcast"  # the outbox kind of a broadcast's rows: a lane of its own
IDLE_POLL_S = 1.0


class OutboxWorker:
    """Sends queued messages at a steady rate, one chat at most once a second.

    Broadcasts are a lane of their own: claims put other kinds (reminders, promotions)
    first, and a RetryAfter on a broadcast holds only the broadcast lane for as long as
    the platform says, while the other kinds go on.
    """

    def __init__(
        self,
        outbox: Outbox,
        senders: Mapping[Channel, Sender],
        clock: Callable[[], float],
        rate_per_s: float = DEFAULT_RATE_PER_S,
    ) -> None:
        self.outbox = outbox
        self.senders = dict(senders)
        self.clock = clock
        self.interval = 1.0 / rate_per_s
        self._last_to_chat: dict[tuple[Channel, str], float] = {}
        self._next_slot = 0.0  # the earliest moment the next send may start
        self.broadcasts_held_until = 0.0
        self.wake = asyncio.Event()

    async def run_once(self) -> int:
        """Send every message due now; how many were handled."""
        handled = 0
        while batch := await self._claim():
            for number, item in enumerate(batch):
                if item.kind == BROADCAST and self._held():
                    # Told to wait: the rest of this lane goes back, unsent and uncounted.
                    rest = [i for i in batch[number:] if i.kind == BROADCAST]
                    await self.outbox.release(rest, self.broadcasts_held_until)
                    handled += await self._deliver_all(i for i in batch[number:] if i not in rest)
                    break
                await self._deliver(item)
                handled += 1
        self._forget_quiet_chats()
        return handled

    async def run_forever(self) -> None:
        """Deliver until cancelled; a failing round is logged and the next one comes."""
        await self.outbox.recover()
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox round failed; trying again")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), IDLE_POLL_S)

    def _held(self) -> bool:
        return self.clock() < self.broadcasts_held_until

    async def _claim(self) -> list[Queued]:
        return await self.outbox.claim(self.clock(), CLAIM_BATCH, broadcasts=not self._held())

    async def _deliver_all(self, items: Iterable[Queued]) -> int:
        handled = 0
        for item in items:
            await self._deliver(item)
            handled += 1
        return handled

    async def _deliver(self, item: Queued) -> None:
        sender = self.senders.get(item.channel)
        if sender is None:
            # No such channel in this process: leave it for a process that has one.
            await self.outbox.finish(
                item, SendResult(Delivery.RETRY, 30.0, "no sender"), self.clock()
            )
            return
        await self._pace(item)
        try:
            result = await sender.send(item.chat_id, item.reply)
        except Exception as exc:  # a sender must not stop the worker
            log.warning("send on %s failed: %s", item.channel.value, type(exc).__name__)
            result = SendResult(Delivery.RETRY, reason=type(exc).__name__)  # backs off
        if result.status is Delivery.RETRY and result.retry_after and item.kind == BROADCAST:
            self.broadcasts_held_until = self.clock() + result.retry_after
        await self.outbox.finish(item, result, self.clock())

    async def _pace(self, item: Queued) -> None:
        """Slots `interval` apart (no drift from sleeping late), and a second per chat."""
        key = (item.channel, item.chat_id)
        now = self.clock()
        start = max(now, self._next_slot, self._last_to_chat.get(key, 0.0) + PER_CHAT_INTERVAL_S)
        if start > now:
            await asyncio.sleep(start - now)
        # A slot missed by more than one interval is not made up in a burst.
        self._next_slot = max(start, self.clock() - self.interval) + self.interval
        self._last_to_chat[key] = self.clock()

    def _forget_quiet_chats(self) -> None:
        cutoff = self.clock() - PER_CHAT_INTERVAL_S
        for key in [k for k, at in self._last_to_chat.items() if at < cutoff]:
            del self._last_to_chat[key]
