"""The repositories, tested through their protocols: another backend (PostgreSQL, say) adds
its factory to BACKENDS and must pass the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.app import Repositories, open_repositories
from bot.core.delivery import SENT, Delivery, SendResult
from bot.core.outbox import OutboxWorker
from bot.core.repositories import Outgoing
from bot.core.state import Conversation, FormState
from bot.core.types import Attachment, Button, Channel, Reply
from bot.rsvp.repository import Person

Factory = Callable[[Path], Awaitable[Repositories]]
BACKENDS: dict[str, Factory] = {"sqlite": lambda folder: open_repositories(str(folder / "r.db"))}


@pytest.fixture(params=sorted(BACKENDS))
async def repos(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Repositories]:
    opened = await BACKENDS[request.param](tmp_path)
    yield opened
    await opened.db.close()


async def test_conversations_round_trip_with_a_form_and_erase(repos: Repositories) -> None:
    form = FormState("plan", "day", {"sites": ["a"]})
    state = Conversation("telegram", "1", "fr", "fr", "shangshan-site", ("topic:v1:x",), form,
                         "hours", "et ?", 5.0)  # fmt: skip
    await repos.conversations.save(state)
    assert await repos.conversations.get("telegram", "1") == state
    assert (await repos.conversations.export_person("telegram", "1"))["conversations"]
    await repos.conversations.erase_person("telegram", "1")
    assert await repos.conversations.get("telegram", "1") == Conversation("telegram", "1")


async def test_subscribers_once_each_and_erase(repos: Repositories) -> None:
    assert await repos.subscribers.subscribe("wechat", "o1", "o1", "zh") is True
    assert await repos.subscribers.subscribe("wechat", "o1", "o1", "en") is False
    assert await repos.subscribers.count() == 1
    await repos.subscribers.erase_person("wechat", "o1")
    assert await repos.subscribers.count() == 0
    assert await repos.subscribers.unsubscribe("wechat", "o1") is False


async def test_processed_updates_are_first_once_even_at_once(repos: Repositories) -> None:
    results = await asyncio.gather(
        *(repos.processed.first_time(Channel.WECHAT, "msg-1") for _ in range(20))
    )
    assert results.count(True) == 1
    assert await repos.processed.first_time(Channel.TELEGRAM, "msg-1") is True


def _outgoing(chat: str, key: str | None = None) -> Outgoing:
    reply = Reply("hé <b>&", "fr", (Button("1", "topic:v1:x"),),
                  attachment=Attachment("a.ics", b"\x00\xffBEGIN", "text/calendar"))  # fmt: skip
    return Outgoing(Channel.TELEGRAM, chat, reply, "reminder", key, user_id=chat)


async def test_outbox_queues_a_key_once_and_keeps_the_reply_intact(repos: Repositories) -> None:
    assert await repos.outbox.enqueue([_outgoing("1", "k"), _outgoing("1", "k")]) == 1
    [item] = await repos.outbox.claim(1e12, 10)
    assert item.reply == _outgoing("1").reply and item.attempts == 1
    assert await repos.outbox.claim(1e12, 10) == []  # claimed: nobody else takes it
    await repos.outbox.finish(item, SendResult(Delivery.RETRY, 60.0), 100.0)
    assert await repos.outbox.claim(150.0, 10) == []  # not yet due again
    [again] = await repos.outbox.claim(161.0, 10)
    await repos.outbox.finish(again, SENT, 162.0)
    assert await repos.outbox.counts() == {"sent": 1}


async def test_a_transaction_writes_all_or_nothing(repos: Repositories) -> None:
    with pytest.raises(RuntimeError):
        async with repos.db.transaction():
            await repos.outbox.enqueue([_outgoing("1", "a")])
            raise RuntimeError("crash between two writes")
    assert await repos.outbox.counts() == {}
    await repos.subscribers.subscribe("console", "x", "x", "en")  # the connection still works
    assert await repos.subscribers.count() == 1


async def test_bookings_never_overbook_and_erase_leaves_no_row(repos: Repositories) -> None:
    people = [Person("telegram", str(n), str(n), "en", f"N{n}", "O") for n in range(12)]
    await asyncio.gather(*(repos.bookings.book("t", p, 5, [("24h", 1.0)], float(n))
                           for n, p in enumerate(people)))  # fmt: skip
    assert await repos.bookings.confirmed("t") == 5
    promoted = await repos.bookings.cancel("t", "telegram", "0", [("24h", 1.0)])
    assert promoted is not None and await repos.bookings.confirmed("t") == 5
    exported = await repos.bookings.export_person("telegram", "1")
    assert exported["bookings"] and exported["reminders"]
    await repos.bookings.erase_person("telegram", "1")
    assert await repos.bookings.export_person("telegram", "1") == {"bookings": [], "reminders": []}


class CountingSender:
    """A channel's edge that records what reached each chat (the platform, faked)."""

    channel = Channel.TELEGRAM

    def __init__(self) -> None:
        self.received: dict[str, int] = {}

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        self.received[chat_id] = self.received.get(chat_id, 0) + 1
        return SENT


async def test_outbox_after_a_crash_sends_each_message_once(
    repos: Repositories, tmp_path: Path
) -> None:
    await repos.outbox.enqueue([_outgoing(str(n), f"r{n}") for n in range(200)])
    claimed = await repos.outbox.claim(1e12, 30)  # the crash: 30 claimed, none finished
    assert len(claimed) == 30
    await repos.db.close()
    restarted = await BACKENDS["sqlite"](tmp_path)
    sender = CountingSender()
    worker = OutboxWorker(restarted.outbox, {Channel.TELEGRAM: sender}, lambda: 1e12, 1e6)
    assert await restarted.outbox.recover() == 30
    assert await worker.run_once() == 200
    assert sorted(sender.received.values()) == [1] * 200
    await restarted.db.close()
    repos.db = restarted.db  # closed already; the fixture closes it again harmlessly


async def test_two_processes_starting_together_migrate_a_new_file_once(tmp_path: Path) -> None:
    from bot.storage.database import MIGRATIONS, Database

    path = tmp_path / "new.db"
    first, second = await asyncio.gather(Database.open(path), Database.open(path))
    try:
        row = await second.fetchone("PRAGMA user_version")
        assert row is not None and row[0] == len(MIGRATIONS)
    finally:
        await first.close()
        await second.close()
