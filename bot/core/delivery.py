"""One way to deliver: the `Sender` protocol each channel implements, and its typed result."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from bot.core.types import Channel, Reply


class Delivery(StrEnum):
    """How a send ended, as the outbox records it."""

    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot or the chat is gone: never retried
    RETRY = "retry"  # rate limited or a passing fault: try again after `retry_after`
    OUTSIDE_WINDOW = "outside_window"  # the channel allows no push now (WeChat's 48 hours)
    FAILED = "failed"  # a permanent error other than blocking


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one send; `reason` is for staff and logs, never message text."""

    status: Delivery
    retry_after: float = 0.0
    reason: str = ""
    message_id: str = ""  # the platform's id of the (last) message sent, when it has one


SENT = SendResult(Delivery.SENT)


class Sender(Protocol):
    """Delivers a reply to one chat on one channel, outside any conversation turn."""

    channel: Channel

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        """Send every part of the reply (text, location, attachment) to the chat."""
        ...


@runtime_checkable
class Editor(Protocol):
    """A Sender that can also change a message it sent (Telegram can; WeChat cannot)."""

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> SendResult:
        """Replace the text (and buttons) of a message sent before."""
        ...
