"""The periodic jobs, started by whatever runs the channels (not by any one channel):
the outbox worker, tour reminders, the RSVP purge and pruning of handled update ids."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import App
from bot.core.delivery import Sender
from bot.core.outbox import OutboxWorker
from bot.core.types import Channel

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_S = 30.0
# Broadcast progress messages are edited at most this often (Telegram limits edits).
PROGRESS_EVERY_S = 3.0


class Jobs:
    """The background tasks of one running bot."""

    def __init__(self, app: App, senders: dict[Channel, Sender]) -> None:
        self.app = app
        self.worker: OutboxWorker = app.outbox_worker(senders)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the outbox worker and the housekeeping loop."""
        self._tasks = [
            asyncio.create_task(self.worker.run_forever()),
            asyncio.create_task(self._housekeeping_forever()),
            asyncio.create_task(self._broadcast_progress_forever()),
        ]

    async def housekeeping(self) -> int:
        """One round: purge expired RSVP data and old questions, queue due reminders, close
        quiet handoffs; how many messages were queued."""
        await self.app.rsvp_feature.purge()
        await self.app.repos.processed.prune()
        queued = await self.app.rsvp_feature.queue_due_reminders()
        queued += await self.app.staffops.housekeeping()
        if queued:
            self.worker.wake.set()
        return queued

    async def _housekeeping_forever(self) -> None:
        while True:
            try:
                await self.housekeeping()
            except Exception:
                log.exception("housekeeping round failed; trying again next round")
            await asyncio.sleep(HOUSEKEEPING_EVERY_S)

    async def _broadcast_progress_forever(self) -> None:
        """Progress messages of running broadcasts; also the heartbeat the CLI checks."""
        while True:
            try:
                await self.app.broadcasts.report_progress(self.worker.senders)
            except Exception:
                log.exception("broadcast progress round failed; trying again")
            await asyncio.sleep(PROGRESS_EVERY_S)

    async def stop(self) -> None:
        """Cancel the tasks and wait for them to end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
