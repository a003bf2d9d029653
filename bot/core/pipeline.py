"""The inbound pipeline every channel calls: duplicates, flood, per-conversation order,
the language resolved once (saved choice first), dispatch, and an apology on failure.

A channel adapter only translates its platform's updates into `Incoming` and sends the
replies it gets back; none of these rules is written twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace

from bot.core import replies
from bot.core.dispatcher import Dispatcher, Turn
from bot.core.guards import FloodGuard, KeyedLocks, Verdict
from bot.core.repositories import SETTLES, Conversations, Outbox, ProcessedUpdates
from bot.core.state import Conversation
from bot.core.types import Incoming, Reply
from bot.i18n import translator

log = logging.getLogger(__name__)

# Longer than any message a platform delivers (Telegram 4,096, WeChat 2,048 characters):
# nothing past this is read, so no step of understanding can grow with a forged length.
MAX_TEXT_CHARS = 8_000
# A lone surrogate (from JSON "\ud800") cannot be stored or sent as UTF-8.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# Chooses the reply language of a message from the saved state and the message.
LanguagePolicy = Callable[[Conversation, Incoming], str]


class Pipeline:
    """One Incoming in, its replies out, the same for every channel."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        conversations: Conversations,
        processed: ProcessedUpdates,
        outbox: Outbox,
        language: LanguagePolicy,
        clock: Callable[[], float],
        monotonic: Callable[[], float],
    ) -> None:
        self.dispatcher = dispatcher
        self.conversations = conversations
        self.processed = processed
        self.outbox = outbox
        self.language = language
        self.clock = clock
        self.flood = FloodGuard(monotonic)
        self.locks = KeyedLocks()

    async def handle(self, msg: Incoming) -> list[Reply]:
        """The replies to one message; [] for a repeat or a dropped flood message."""
        msg = clean(msg)
        try:
            return await self._handle(msg)
        except Exception:  # the store itself failed: answer in the best language we know
            log.exception("a %s message could not be handled", msg.channel.value)
            fresh = Conversation(msg.channel.value, msg.user_id)
            return [replies.apology(self.language(fresh, msg))]

    async def _handle(self, msg: Incoming) -> list[Reply]:
        if msg.update_key and not await self.processed.first_time(msg.channel, msg.update_key):
            log.info("duplicate %s update ignored", msg.channel.value)
            return []
        async with self.locks.hold((msg.channel, msg.user_id)):
            state = await self.conversations.get(msg.channel.value, msg.user_id)
            verdict = self.flood.check((msg.channel, msg.user_id))
            if verdict is not Verdict.ALLOW:
                lang = state.lang or state.last_lang or self.language(state, msg)
                return [replies.flood_notice(lang)] if verdict is Verdict.WARN else []
            return await self._turn(msg, state)

    async def delivered(self, replies: list[Reply]) -> None:
        """Channels call this once the replies reached the person: queued copies that
        back them up (a booking's confirmation) are then never sent."""
        keys = [str(r.meta[SETTLES]) for r in replies if SETTLES in r.meta]
        if keys:
            await self.outbox.settle(keys)

    async def _turn(self, msg: Incoming, state: Conversation) -> list[Reply]:
        turn = Turn(msg, state, translator(self.language(state, msg)), False, self.clock())
        turn.is_staff = self.dispatcher.is_staff(msg)
        try:
            answer = await self.dispatcher.dispatch(turn)
        except Exception:
            # The type and place only: the message text may hold personal data.
            log.exception("a %s message could not be handled", msg.channel.value)
            return [replies.apology(turn.lang)]
        await self._save(turn, answer)
        return answer

    async def _save(self, turn: Turn, answer: list[Reply]) -> None:
        choices = tuple(b.payload for b in answer[-1].buttons) if answer else ()
        if turn.state.channel:  # /forget empties the state; nothing to save then
            lang = answer[-1].lang if answer else turn.lang
            state = turn.state.updated(last_lang=lang, choices=choices, updated_at=self.clock())
            await self.conversations.save(state)


def clean(msg: Incoming) -> Incoming:
    """The message with its text capped and lone surrogates replaced (U+FFFD)."""
    text = LONE_SURROGATE.sub("\ufffd", msg.text[:MAX_TEXT_CHARS])
    payload = LONE_SURROGATE.sub("\ufffd", msg.payload) if msg.payload else msg.payload
    if text == msg.text and payload == msg.payload:
        return msg
    return replace(msg, text=text, payload=payload)
