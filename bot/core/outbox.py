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
from collections.abc import Callable, Mapping

from bot.core.delivery import Delivery, Sender, SendResult
from bot.core.repositories import Outbox, Queued
from bot.core.types import Channel

log = logging.getLogger(__name__)

# Telegram allows about 30 messages a second to different chats; stay under it.
DEFAULT_RATE_PER_S = 25.0
# And about one a second to the same chat.
PER_CHAT_INTERVAL_S = 1.0
IDLE_POLL_S = 1.0


class OutboxWorker:
    """Sends queued messages at a steady rate, one chat at most once a second."""

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
        self._last_send = 0.0
        self.wake = asyncio.Event()

    async def run_once(self) -> int:
        """Send every message due now; how many were handled."""
        handled = 0
        while True:
            await self._pace_overall()  # wait first, then claim: nothing waits 'sending'
            batch = await self.outbox.claim(self.clock(), 1)
            if not batch:
                break
            await self._deliver(batch[0])
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
            result = SendResult(Delivery.RETRY, 5.0, type(exc).__name__)
        await self.outbox.finish(item, result, self.clock())

    async def _pace_overall(self) -> None:
        wait = self._last_send + self.interval - self.clock()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _pace(self, item: Queued) -> None:
        key = (item.channel, item.chat_id)
        wait = self._last_to_chat.get(key, 0.0) + PER_CHAT_INTERVAL_S - self.clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_send = self._last_to_chat[key] = self.clock()

    def _forget_quiet_chats(self) -> None:
        cutoff = self.clock() - PER_CHAT_INTERVAL_S
        for key in [k for k, at in self._last_to_chat.items() if at < cutoff]:
            del self._last_to_chat[key]
