"""The embedded SQLite store: one connection, numbered migrations, conversation state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiosqlite

# Append only: a deployed database has run every migration up to its user_version.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        lang TEXT,
        last_lang TEXT,
        last_topic TEXT,
        choices TEXT NOT NULL DEFAULT '[]',
        updated_at REAL NOT NULL,
        PRIMARY KEY (channel, user_id)
    )
    """,
    """
    CREATE TABLE subscribers (
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        lang TEXT NOT NULL,
        subscribed_at REAL NOT NULL,
        PRIMARY KEY (channel, user_id)
    )
    """,
    "ALTER TABLE conversations ADD COLUMN form TEXT",
    # RSVPs: one row per (tour, person); seats are counted from it in one transaction.
    """
    CREATE TABLE bookings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tour_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        lang TEXT NOT NULL,
        name TEXT NOT NULL,
        outlet TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT '',
        contact TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
        queued_at REAL NOT NULL,
        code TEXT NOT NULL UNIQUE,
        checked_in_at REAL,
        UNIQUE (tour_id, channel, user_id)
    );
    CREATE INDEX bookings_queue ON bookings (tour_id, status, queued_at, id);
    """,
    # Reminders are rows: a restart loses none, and claiming one before sending it means
    # it is never sent twice.
    """
    CREATE TABLE reminders (
        booking_id INTEGER NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        due_at REAL NOT NULL,
        sent_at REAL,
        PRIMARY KEY (booking_id, kind)
    )
    """,
    "ALTER TABLE bookings ADD COLUMN answers TEXT NOT NULL DEFAULT '{}'",
)


async def open_database(path: str | Path) -> aiosqlite.Connection:
    """Open (creating if needed) the database and bring its schema up to date."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(str(path))
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA busy_timeout=5000")
    # WAL with synchronous=NORMAL never corrupts; a power cut may lose the last instant.
    await db.execute("PRAGMA synchronous=NORMAL")
    await migrate(db)
    return db


async def migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    for number, statement in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(f"BEGIN; {statement}; PRAGMA user_version = {number}; COMMIT;")


@dataclass(frozen=True, slots=True)
class Conversation:
    """What the core remembers about one user on one channel."""

    channel: str
    user_id: str
    lang: str | None = None  # chosen with /language; wins over any guess
    last_lang: str | None = None  # language of the last reply, for "1" or "😊"
    last_topic: str | None = None  # for follow-ups such as "how do I get there?"
    choices: tuple[str, ...] = ()  # payloads of the last numbered choices
    form: dict[str, Any] | None = None  # a multi-step form in progress (e.g. a day plan)

    def updated(self, **changes: object) -> Conversation:
        return replace(self, **changes)  # type: ignore[arg-type]


class _Store:
    """A table on the shared connection. Writers take the connection's one lock: a
    transaction belongs to the connection, so no commit may land inside another's."""

    def __init__(
        self, db: aiosqlite.Connection, clock: Callable[[], float], lock: asyncio.Lock | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._lock = lock or asyncio.Lock()


class ConversationStore(_Store):
    async def get(self, channel: str, user_id: str) -> Conversation:
        async with self._db.execute(
            "SELECT lang, last_lang, last_topic, choices, form FROM conversations"
            " WHERE channel = ? AND user_id = ?",
            (channel, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return Conversation(channel, user_id)
        form = json.loads(row[4]) if row[4] else None
        return Conversation(
            channel, user_id, row[0], row[1], row[2], tuple(json.loads(row[3])), form
        )

    async def save(self, state: Conversation) -> None:
        async with self._lock:
            await self._save(state)

    async def _save(self, state: Conversation) -> None:
        await self._db.execute(
            "INSERT INTO conversations"
            " (channel, user_id, lang, last_lang, last_topic, choices, form, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, user_id) DO UPDATE SET lang = excluded.lang,"
            " last_lang = excluded.last_lang, last_topic = excluded.last_topic,"
            " choices = excluded.choices, form = excluded.form,"
            " updated_at = excluded.updated_at",
            (
                state.channel,
                state.user_id,
                state.lang,
                state.last_lang,
                state.last_topic,
                json.dumps(list(state.choices)),
                json.dumps(state.form) if state.form else None,
                self._clock(),
            ),
        )
        await self._db.commit()

    async def forget(self, channel: str, user_id: str) -> None:
        """Delete everything kept about a user: conversation and subscription."""
        async with self._lock:
            for table in ("conversations", "subscribers"):
                await self._db.execute(
                    f"DELETE FROM {table} WHERE channel = ? AND user_id = ?", (channel, user_id)
                )
            await self._db.commit()


class SubscriberStore(_Store):
    """Who receives the centre's announcements, and in which language."""

    async def subscribe(self, channel: str, user_id: str, chat_id: str, lang: str) -> bool:
        """Subscribe, or update the language of a subscription; True if it is new."""
        async with self._lock:
            return await self._subscribe(channel, user_id, chat_id, lang)

    async def _subscribe(self, channel: str, user_id: str, chat_id: str, lang: str) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM subscribers WHERE channel = ? AND user_id = ?", (channel, user_id)
        ) as cursor:
            existed = await cursor.fetchone() is not None
        await self._db.execute(
            "INSERT INTO subscribers (channel, user_id, chat_id, lang, subscribed_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, user_id)"
            " DO UPDATE SET lang = excluded.lang, chat_id = excluded.chat_id",
            (channel, user_id, chat_id, lang, self._clock()),
        )
        await self._db.commit()
        return not existed

    async def unsubscribe(self, channel: str, user_id: str) -> bool:
        async with self._lock:
            cursor = await self._db.execute(
                "DELETE FROM subscribers WHERE channel = ? AND user_id = ?", (channel, user_id)
            )
            await self._db.commit()
        return cursor.rowcount > 0

    async def count(self) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM subscribers") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
