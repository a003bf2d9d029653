"""The storage the core needs, as protocols: SQLite implements them today (bot/storage),
and another backend can implement them and pass the same repository tests."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.delivery import SendResult
from bot.core.state import Conversation
from bot.core.types import Channel, Reply


class Transactions(Protocol):
    """Runs several repositories' writes as one: all of them or none."""

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """A unit of work; nested calls join the outer one."""
        ...


class PersonalData(Protocol):
    """A repository that holds rows about people can show and erase one person's rows."""

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every row about the person, by table."""
        ...

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete every row about the person."""
        ...


class Conversations(PersonalData, Protocol):
    """Conversation state per (channel, user)."""

    async def get(self, channel: str, user_id: str) -> Conversation:
        """The saved state, or a fresh one."""
        ...

    async def save(self, state: Conversation) -> None:
        """Save the state after a turn."""
        ...


class Subscribers(PersonalData, Protocol):
    """Who receives the centre's announcements, and in which language."""

    async def subscribe(self, channel: str, user_id: str, chat_id: str, lang: str) -> bool:
        """Subscribe, or update the language; True if the subscription is new."""
        ...

    async def unsubscribe(self, channel: str, user_id: str) -> bool:
        """Unsubscribe; True if there was a subscription."""
        ...

    async def count(self) -> int:
        """How many people are subscribed."""
        ...

    async def is_subscribed(self, channel: str, user_id: str) -> bool:
        """Whether the person receives the announcements."""
        ...


class ProcessedUpdates(Protocol):
    """Platform delivery ids already handled, shared by every process on the store."""

    async def first_time(self, channel: Channel, key: str) -> bool:
        """Record the id; False if it was recorded before."""
        ...


# Reply.meta key: the outbox key of a queued copy that the reply's delivery settles.
SETTLES = "settles"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to queue: to whom, what, and a key that makes queueing it idempotent."""

    channel: Channel
    chat_id: str
    reply: Reply
    kind: str  # reminder, promotion, confirmation, broadcast, handoff …
    key: str | None = None  # the same key is queued once
    user_id: str = ""
    due_at: float | None = None  # not before this moment (a scheduled broadcast); None = now
    broadcast_id: int | None = None  # the broadcast this row belongs to, if any
    delay_s: float = 0.0  # due this long after queueing (when due_at is None)


@dataclass(frozen=True, slots=True)
class Queued:
    """A message claimed from the outbox for sending."""

    id: int
    channel: Channel
    chat_id: str
    reply: Reply
    kind: str
    attempts: int


class Outbox(Protocol):
    """The persistent queue of messages sent outside a reply."""

    async def enqueue(self, messages: Sequence[Outgoing]) -> int:
        """Queue messages (inside the caller's transaction if there is one); how many new."""
        ...

    async def claim(self, now: float, limit: int, broadcasts: bool = True) -> list[Queued]:
        """Mark up to `limit` due messages as being sent: other kinds before broadcasts,
        then oldest first; with `broadcasts` False, none of kind 'broadcast'."""
        ...

    async def release(self, items: Sequence[Queued], due_at: float) -> None:
        """Put claimed, unsent messages back, due at `due_at`; the claim costs no attempt."""
        ...

    async def finish(self, item: Queued, result: SendResult, now: float) -> None:
        """Record how the send ended; a retry is due again later."""
        ...

    async def settle(self, keys: Sequence[str]) -> int:
        """Queued copies whose reply was delivered directly: never send them."""
        ...

    async def recover(self) -> int:
        """After a restart: messages left 'sending' are due again (at least once)."""
        ...

    async def counts(self) -> dict[str, int]:
        """Messages by status."""
        ...


class AuditLog(Protocol):
    """Who among the staff did what, and when: reloads, broadcasts, exports, check-ins,
    handoff replies. `detail` names the object (a tour id, a code, #H12), never a text."""

    async def record(self, actor: str, action: str, detail: str = "") -> None:
        """Add one entry, stamped with the time."""
        ...
