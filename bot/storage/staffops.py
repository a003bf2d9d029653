"""SQLite repositories of staff operations: handoffs, unanswered questions, usage counters,
the audit log, and the read-only counts the usage figures take from other tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from bot.staffops.repository import Handoff, Unanswered
from bot.storage.database import Database

ERASED_ACTOR = "(erased)"
_OPEN = "SELECT * FROM handoffs WHERE channel = ? AND user_id = ? AND status = 'open'"


def _handoff(row: sqlite3.Row) -> Handoff:
    return Handoff(
        int(row["id"]), row["channel"], row["user_id"], row["chat_id"], row["name"], row["lang"],
        row["status"], float(row["opened_at"]), float(row["last_at"]), int(row["messages"]),
        int(row["replies"]),
    )  # fmt: skip


class SqliteHandoffs:
    """Handoffs; the partial unique index keeps one open handoff per person."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, channel: str, user_id: str, chat_id: str, name: str, lang: str,
                   now: float) -> tuple[Handoff, bool]:  # fmt: skip
        """The person's open handoff, or a new one; and whether it is new."""
        async with self.db.transaction() as tx:
            async with tx.execute(_OPEN, (channel, user_id)) as cursor:
                row = await cursor.fetchone()
            if row is not None:
                return _handoff(row), False
            cursor = await tx.execute(
                "INSERT INTO handoffs (channel, user_id, chat_id, name, lang, status, opened_at,"
                " last_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
                (channel, user_id, chat_id, name, lang, now, now),
            )
            new_id = int(cursor.lastrowid or 0)
        found = await self.get(new_id)
        assert found is not None
        return found, True

    async def get(self, handoff_id: int) -> Handoff | None:
        """A handoff by id."""
        row = await self.db.fetchone("SELECT * FROM handoffs WHERE id = ?", (handoff_id,))
        return _handoff(row) if row else None

    async def open_of(self, channel: str, user_id: str) -> Handoff | None:
        """The person's open handoff, if any."""
        row = await self.db.fetchone(_OPEN, (channel, user_id))
        return _handoff(row) if row else None

    async def touch(self, handoff_id: int, now: float, message: bool, reply: bool) -> None:
        """Note activity on an open handoff."""
        await self.db.write(
            "UPDATE handoffs SET last_at = ?, messages = messages + ?, replies = replies + ?"
            " WHERE id = ? AND status = 'open'", (now, int(message), int(reply), handoff_id),
        )  # fmt: skip

    async def close(self, handoff_id: int, now: float) -> bool:
        """Close it; False if it was not open."""
        changed = await self.db.write(
            "UPDATE handoffs SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
            (now, handoff_id),
        )
        return changed > 0

    async def quiet_since(self, before: float) -> list[Handoff]:
        """Open handoffs with no activity since `before`."""
        rows = await self.db.fetchall(
            "SELECT * FROM handoffs WHERE status = 'open' AND last_at < ? ORDER BY id", (before,)
        )
        return [_handoff(r) for r in rows]

    async def open_ones(self) -> list[Handoff]:
        """Every open handoff, oldest first."""
        rows = await self.db.fetchall("SELECT * FROM handoffs WHERE status = 'open' ORDER BY id")
        return [_handoff(r) for r in rows]

    async def purge_closed(self, before: float) -> int:
        """Delete handoffs closed before `before`; how many."""
        return await self.db.write(
            "DELETE FROM handoffs WHERE status = 'closed' AND closed_at < ?", (before,)
        )

    async def ids_of(self, channel: str, user_id: str) -> list[int]:
        """The ids of every handoff of a person, open or closed."""
        rows = await self.db.fetchall(
            "SELECT id FROM handoffs WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return [int(r["id"]) for r in rows]

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """The person's handoff rows."""
        rows = await self.db.fetchall(
            "SELECT * FROM handoffs WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return {"handoffs": [dict(r) for r in rows]}

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete the person's handoffs."""
        await self.db.write(
            "DELETE FROM handoffs WHERE channel = ? AND user_id = ?", (channel, user_id)
        )


class SqliteUnanswered:
    """Questions the bot could not answer; no asker is stored."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def keep(self, question: Unanswered) -> None:
        """Store one question."""
        await self.db.write(
            "INSERT INTO unanswered (asked_at, lang, text, guess, confidence)"
            " VALUES (?, ?, ?, ?, ?)",
            (question.asked_at, question.lang, question.text, question.guess,
             question.confidence),
        )  # fmt: skip

    async def since(self, when: float) -> list[Unanswered]:
        """The questions asked since `when`, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM unanswered WHERE asked_at >= ? ORDER BY asked_at, id", (when,)
        )
        return [
            Unanswered(float(r["asked_at"]), r["lang"], r["text"], r["guess"],
                       float(r["confidence"]))
            for r in rows
        ]  # fmt: skip

    async def purge(self, before: float) -> int:
        """Delete questions asked before `before`; how many."""
        return await self.db.write("DELETE FROM unanswered WHERE asked_at < ?", (before,))


class SqliteUsage:
    """Usage counters, and the counts of other tables the figures need."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def count(self, day: str, channel: str, lang: str, kind: str, topic: str = "") -> None:
        """Add one to a counter."""
        await self.db.write(
            "INSERT INTO usage_events (day, channel, lang, kind, topic, count)"
            " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (day, channel, lang, kind, topic)"
            " DO UPDATE SET count = count + 1", (day, channel, lang, kind, topic),
        )  # fmt: skip

    async def counters(self, since_day: str) -> list[tuple[str, str, str, str, str, int]]:
        """(day, channel, lang, kind, topic, count) rows since `since_day`."""
        rows = await self.db.fetchall(
            "SELECT * FROM usage_events WHERE day >= ? ORDER BY day", (since_day,)
        )
        return [(r["day"], r["channel"], r["lang"], r["kind"], r["topic"], int(r["count"]))
                for r in rows]  # fmt: skip

    async def people(self) -> list[tuple[str, str, int]]:
        """(channel, language, people) from the conversations kept."""
        rows = await self.db.fetchall(
            "SELECT channel, COALESCE(lang, last_lang, '?') AS lang, COUNT(*) AS n"
            " FROM conversations GROUP BY 1, 2 ORDER BY 1, 3 DESC"
        )
        return [(r["channel"], r["lang"], int(r["n"])) for r in rows]

    async def rsvps(self) -> list[tuple[str, str, int]]:
        """(tour id, status, bookings)."""
        rows = await self.db.fetchall(
            "SELECT tour_id, status, COUNT(*) AS n FROM bookings GROUP BY 1, 2 ORDER BY 1, 2"
        )
        return [(r["tour_id"], r["status"], int(r["n"])) for r in rows]

    async def subscribers(self) -> int:
        """People subscribed to announcements."""
        return await self._number("SELECT COUNT(*) AS n FROM subscribers")

    async def broadcasts(self) -> int:
        """Broadcast messages in the outbox (until the broadcasts have a table of their own)."""
        return await self._number("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'broadcast'")

    async def handoffs(self) -> tuple[int, int]:
        """(open, all) handoffs."""
        row = await self.db.fetchone(
            "SELECT COALESCE(SUM(status = 'open'), 0) AS o, COUNT(*) AS n FROM handoffs"
        )
        return (int(row["o"]), int(row["n"])) if row else (0, 0)

    async def _number(self, sql: str) -> int:
        row = await self.db.fetchone(sql)
        return int(row["n"]) if row else 0


class SqliteAudit:
    """The staff audit log: who did what, when."""

    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    async def record(self, actor: str, action: str, detail: str = "") -> None:
        """Add one entry, stamped with the time."""
        await self.db.write(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
            (self.clock(), actor[:100], action[:40], detail[:200]),
        )

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """The latest entries, newest first."""
        rows = await self.db.fetchall(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) for r in rows]

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """The entries of a staff member's own actions."""
        rows = await self.db.fetchall(
            "SELECT * FROM audit_log WHERE actor = ?", (f"{channel}:{user_id}",)
        )
        return {"audit_log": [dict(r) for r in rows]}

    async def erase_person(self, channel: str, user_id: str) -> None:
        """A staff member who leaves is unnamed in the log; what was done stays recorded."""
        await self.db.write(
            "UPDATE audit_log SET actor = ? WHERE actor = ?", (ERASED_ACTOR, f"{channel}:{user_id}")
        )
