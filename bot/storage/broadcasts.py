"""The SQLite broadcast store: audiences from subscribers and bookings, broadcasts, and
their progress counted from their outbox rows."""

from __future__ import annotations

import json
import sqlite3

from bot.broadcast.repository import Broadcast, Draft, Person, Report
from bot.storage.database import Database

# The newest broadcasts and their counts, in one query.
COUNTS_SQL = (
    "SELECT broadcast_id, status, COUNT(*) AS n FROM outbox"
    " WHERE broadcast_id IN ({ids}) GROUP BY broadcast_id, status"
)


class SqliteBroadcasts:
    """Broadcasts and their audiences, on the shared database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def subscribers(self, lang: str | None) -> list[Person]:
        """Everyone subscribed (in one language, if given)."""
        where, params = (" WHERE lang = ?", (lang,)) if lang else ("", ())
        rows = await self.db.fetchall(
            f"SELECT channel, user_id, chat_id, lang FROM subscribers{where}"
            " ORDER BY subscribed_at, user_id", params,
        )  # fmt: skip
        return [_person(r) for r in rows]

    async def tour_people(self, tour_id: str, status: str) -> list[Person]:
        """The confirmed or waitlisted people of one tour."""
        rows = await self.db.fetchall(
            "SELECT channel, user_id, chat_id, lang FROM bookings"
            " WHERE tour_id = ? AND status = ? ORDER BY queued_at, id", (tour_id, status),
        )  # fmt: skip
        return [_person(r) for r in rows]

    async def language_of(self, channel: str, user_id: str) -> str | None:
        """The language the person chose, else the one last answered in."""
        row = await self.db.fetchone(
            "SELECT COALESCE(lang, last_lang) AS lang FROM conversations"
            " WHERE channel = ? AND user_id = ?", (channel, user_id),
        )  # fmt: skip
        return str(row["lang"]) if row and row["lang"] else None

    async def add(self, draft: Draft, recipients: int, report: Report | None, now: float) -> int:
        """Store a broadcast, inside the caller's transaction if there is one; its id."""
        where = report or Report("", "", "")
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO broadcasts (created_by, created_at, audience, texts, default_lang,"
                " scheduled_at, recipients, subscribers_only, report_channel, report_chat,"
                " report_lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (draft.created_by, now, draft.audience,
                 json.dumps(dict(draft.texts), ensure_ascii=False), draft.default_lang,
                 draft.scheduled_at, recipients, int(draft.subscribers_only),
                 where.channel or None, where.chat_id or None, where.lang or None),
            )  # fmt: skip
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """One broadcast, with its rows counted by status."""
        rows = await self._with_counts("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return rows[0] if rows else None

    async def recent(self, limit: int) -> list[Broadcast]:
        """The latest broadcasts, newest first."""
        return await self._with_counts(
            "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
        )

    async def open_reports(self) -> list[Broadcast]:
        """Broadcasts not yet marked done (queued, or cancelled with rows still sending)."""
        return await self._with_counts(
            "SELECT * FROM broadcasts WHERE finished_at IS NULL ORDER BY id", ()
        )

    async def cancel(self, broadcast_id: int, by: str, now: float) -> bool:
        """Stop a broadcast: unsent rows become 'cancelled'; False if it was over already."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE broadcasts SET status = 'cancelled', cancelled_at = ?, cancelled_by = ?"
                " WHERE id = ? AND status = 'queued'", (now, by, broadcast_id),
            )  # fmt: skip
            if not cursor.rowcount:
                return False
            await tx.execute(
                "UPDATE outbox SET status = 'cancelled', finished_at = ?, reason = 'cancelled'"
                " WHERE broadcast_id = ? AND status = 'pending'", (now, broadcast_id),
            )  # fmt: skip
        return True

    async def set_report_message(self, broadcast_id: int, message_id: str) -> None:
        """Remember the progress message, to edit it later."""
        await self.db.write(
            "UPDATE broadcasts SET report_message = ? WHERE id = ?", (message_id, broadcast_id)
        )

    async def finish(self, broadcast_id: int, now: float) -> None:
        """Every row is handled: done (a cancelled broadcast stays 'cancelled')."""
        await self.db.write(
            "UPDATE broadcasts SET finished_at = ?,"
            " status = CASE status WHEN 'queued' THEN 'done' ELSE status END WHERE id = ?",
            (now, broadcast_id),
        )

    async def beat(self, name: str, now: float) -> None:
        """Record that a running job is alive."""
        await self.db.write(
            "INSERT INTO heartbeats (name, at) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET at = excluded.at", (name, now),
        )  # fmt: skip

    async def last_beat(self, name: str) -> float | None:
        """When the job last said it was alive."""
        row = await self.db.fetchone("SELECT at FROM heartbeats WHERE name = ?", (name,))
        return float(row["at"]) if row else None

    async def _with_counts(self, sql: str, params: tuple[object, ...]) -> list[Broadcast]:
        rows = await self.db.fetchall(sql, params)
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        counted = await self.db.fetchall(COUNTS_SQL.format(ids=",".join("?" * len(ids))), ids)
        counts: dict[int, dict[str, int]] = {i: {} for i in ids}
        for c in counted:
            counts[int(c["broadcast_id"])][str(c["status"])] = int(c["n"])
        return [_broadcast(r, counts[int(r["id"])]) for r in rows]


def _person(row: sqlite3.Row) -> Person:
    return Person(str(row["channel"]), str(row["user_id"]), str(row["chat_id"]), str(row["lang"]))


def _broadcast(row: sqlite3.Row, counts: dict[str, int]) -> Broadcast:
    report = (
        Report(row["report_channel"], row["report_chat"], row["report_lang"] or "en",
               row["report_message"] or "")
        if row["report_channel"] else None
    )  # fmt: skip
    return Broadcast(
        int(row["id"]), str(row["created_by"]), float(row["created_at"]), str(row["audience"]),
        json.loads(row["texts"]), str(row["default_lang"]), str(row["status"]),
        float(row["scheduled_at"]), int(row["recipients"]), row["cancelled_at"],
        row["cancelled_by"], row["finished_at"], report, counts,
    )  # fmt: skip
