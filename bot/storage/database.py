"""The embedded SQLite database: one connection, numbered migrations, one way to write.

Every write runs inside `transaction()`: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any
error, so a failed write never leaves the shared connection inside an open transaction.
The connection is in autocommit mode outside it, so reads never open one by accident.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
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
    "ALTER TABLE conversations ADD COLUMN last_facet TEXT;"
    " ALTER TABLE conversations ADD COLUMN last_question TEXT",
    # Platform delivery ids already handled, so a redelivery is answered once, also when
    # another process on the same database got it first.
    """
    CREATE TABLE processed_updates (
        channel TEXT NOT NULL,
        key TEXT NOT NULL,
        seen_at REAL NOT NULL,
        PRIMARY KEY (channel, key)
    )
    """,
    # Everything sent outside a reply: one row per message, claimed before it is sent.
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        user_id TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        key TEXT UNIQUE,
        reply TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
            ('pending', 'sending', 'sent', 'blocked', 'failed', 'outside_window')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at REAL NOT NULL,
        created_at REAL NOT NULL,
        finished_at REAL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX outbox_due ON outbox (status, due_at, id);
    """,
    # Broadcasts: one row each, its texts frozen when it is created; every recipient is an
    # outbox row carrying its broadcast_id. SQLite changes a CHECK only by rebuilding the
    # table: 'skipped' (unsubscribed before their turn) and 'cancelled' (stopped by staff).
    # The claim index puts other kinds before broadcasts, so reminders never wait behind one.
    """
    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        audience TEXT NOT NULL,
        texts TEXT NOT NULL,
        default_lang TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'done', 'cancelled')),
        scheduled_at REAL NOT NULL,
        cancelled_at REAL,
        cancelled_by TEXT,
        finished_at REAL,
        recipients INTEGER NOT NULL DEFAULT 0,
        subscribers_only INTEGER NOT NULL DEFAULT 0,
        report_channel TEXT,
        report_chat TEXT,
        report_lang TEXT,
        report_message TEXT
    );
    CREATE TABLE outbox_rebuilt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        user_id TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        key TEXT UNIQUE,
        reply TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent',
            'blocked', 'failed', 'outside_window', 'skipped', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at REAL NOT NULL,
        created_at REAL NOT NULL,
        finished_at REAL,
        reason TEXT NOT NULL DEFAULT '',
        broadcast_id INTEGER REFERENCES broadcasts (id)
    );
    INSERT INTO outbox_rebuilt (id, channel, chat_id, user_id, kind, key, reply, status,
        attempts, due_at, created_at, finished_at, reason)
        SELECT id, channel, chat_id, user_id, kind, key, reply, status, attempts, due_at,
        created_at, finished_at, reason FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_rebuilt RENAME TO outbox;
    CREATE INDEX outbox_due ON outbox (status, kind = 'broadcast', due_at, id);
    CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status);
    CREATE TABLE heartbeats (name TEXT PRIMARY KEY, at REAL NOT NULL);
    """,
    # WeChat's access token, one row per app id: every process shares it, and a restart
    # does not fetch another (the daily quota is 2,000, and a fetch voids the old token).
    """
    CREATE TABLE wechat_tokens (
        app_id TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        expires_at REAL NOT NULL
    )
    """,
    # Staff operations: handoffs to a person (one open per person), questions the bot could
    # not answer (no asker kept), usage counters (no asker, no text), the staff audit log.
    """
    CREATE TABLE handoffs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        lang TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        opened_at REAL NOT NULL,
        last_at REAL NOT NULL,
        closed_at REAL,
        messages INTEGER NOT NULL DEFAULT 0,
        replies INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX handoffs_one_open ON handoffs (channel, user_id) WHERE status = 'open';
    CREATE TABLE unanswered (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        asked_at REAL NOT NULL,
        lang TEXT NOT NULL,
        text TEXT NOT NULL,
        guess TEXT NOT NULL DEFAULT '',
        confidence REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX unanswered_time ON unanswered (asked_at);
    CREATE TABLE usage_events (
        day TEXT NOT NULL,
        channel TEXT NOT NULL,
        lang TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('question', 'answered', 'unanswered')),
        topic TEXT NOT NULL DEFAULT '',
        count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, channel, lang, kind, topic)
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
)

# A second process on the same file waits this long for the write lock before failing.
BUSY_TIMEOUT_MS = 5000
WAL_ATTEMPTS = 100  # 5 s, like the busy timeout


class Database:
    """The connection, with a re-entrant transaction: nested calls join the outer one."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self._lock = asyncio.Lock()
        self._inside: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"in_transaction_{id(self)}", default=False
        )

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the database and bring its schema up to date."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await _configure(connection)
            await migrate(connection)
        except BaseException:
            await connection.close()
            raise
        return cls(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """All writes inside happen together or not at all."""
        if self._inside.get():
            yield self.connection
            return
        async with self._lock:
            token = self._inside.set(True)
            try:
                await self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.connection
                except BaseException:
                    await self.connection.execute("ROLLBACK")
                    raise
                await self.connection.execute("COMMIT")
            finally:
                self._inside.reset(token)

    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own transaction (or the caller's); the rows it changed.

        Not a bare autocommit statement: with another process writing, SQLite refuses to
        upgrade its read snapshot to a write at once ("database is locked") instead of
        waiting; BEGIN IMMEDIATE takes the write lock first and waits for it."""
        async with self.transaction() as tx:
            cursor = await tx.execute(sql, tuple(params))
            return cursor.rowcount

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Every row of a query, as rows readable by column name."""
        async with self._reading(), self.connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row of a query, or None."""
        async with self._reading(), self.connection.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[None]:
        """Reads take the connection's lock too: a read left open between two awaits keeps
        a snapshot, and a BEGIN IMMEDIATE issued meanwhile on the same connection would
        then fail at once ("database is locked") whenever another process is writing."""
        if self._inside.get():
            yield
            return
        async with self._lock:
            yield

    async def tables(self) -> list[str]:
        """The names of every table (for the privacy tests)."""
        rows = await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [str(r["name"]) for r in rows if not str(r["name"]).startswith("sqlite_")]

    async def close(self) -> None:
        """Close the connection and its thread."""
        await self.connection.close()


async def _configure(connection: aiosqlite.Connection) -> None:
    connection.row_factory = sqlite3.Row
    await connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    await _wal(connection)
    # WAL with synchronous=NORMAL never corrupts; a power cut may lose the last instant.
    await connection.execute("PRAGMA synchronous=NORMAL")
    await connection.execute("PRAGMA foreign_keys=ON")


async def _wal(connection: aiosqlite.Connection) -> None:
    """Switch to WAL; SQLite answers "locked" at once, without waiting, while another
    process on a new file switches it at the same moment, so try again for a while."""
    for attempt in range(WAL_ATTEMPTS):
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == WAL_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05)


async def migrate(connection: aiosqlite.Connection) -> None:
    """Run the migrations this database has not run yet, each in its own transaction.

    The version is read inside the write lock: two processes starting together on a new
    file would otherwise both run the same migration ("table … already exists")."""
    for number, migration in enumerate(MIGRATIONS, start=1):
        await connection.execute("BEGIN IMMEDIATE")
        try:
            if await _version(connection) < number:
                for statement in statements(migration):
                    await connection.execute(statement)
                await connection.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")


async def _version(connection: aiosqlite.Connection) -> int:
    async with connection.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def statements(script: str) -> list[str]:
    """A migration's SQL statements, one by one (execute runs one at a time)."""
    found, current = [], ""
    for piece in script.split(";"):  # a ";" inside a string literal stays in its statement
        current += piece + ";"
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    return [s for s in found if s.strip(" ;\n")]
