"""The SQLite bookings repository: the seat check and the insert in one transaction."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.rsvp.repository import Booking, Person, Schedule
from bot.storage.database import Database

# No 0/O, 1/I/L: codes are read aloud and typed at the door.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
_MINE = "SELECT id, status FROM bookings WHERE tour_id = ? AND channel = ? AND user_id = ?"
_POSITION = (
    "SELECT COUNT(*) AS n FROM bookings WHERE tour_id = ? AND status = 'waitlisted'"
    " AND (queued_at < ? OR (queued_at = ? AND id <= ?))"
)


def new_code() -> str:
    """A short, unambiguous code; UNIQUE in the table catches the rare collision."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class SqliteBookings:
    """Bookings and their reminders."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def book(self, tour_id: str, person: Person, capacity: int, schedule: Schedule,
                   now: float) -> int:  # fmt: skip
        """Confirm if a seat is free, else waitlist; a repeat changes nothing. The id."""
        async with self.db.transaction() as tx:
            row = await _one(tx, _MINE, (tour_id, person.channel, person.user_id))
            if row is not None and row["status"] != "cancelled":
                return int(row["id"])
            taken = await _one(tx, "SELECT COUNT(*) AS n FROM bookings WHERE tour_id = ?"
                               " AND status = 'confirmed'", (tour_id,))  # fmt: skip
            status = "confirmed" if taken and int(taken["n"]) < capacity else "waitlisted"
            booking_id = await _upsert(tx, tour_id, person, status, now, row)
            if status == "confirmed":
                await _schedule(tx, booking_id, schedule)
        return booking_id

    async def cancel(
        self, tour_id: str, channel: str, user_id: str, schedule: Schedule
    ) -> int | None:
        """Cancel; the first waiting gets the seat (and `schedule`). The promoted id."""
        async with self.db.transaction() as tx:
            row = await _one(tx, _MINE, (tour_id, channel, user_id))
            if row is None or row["status"] == "cancelled":
                return None
            await tx.execute("UPDATE bookings SET status = 'cancelled' WHERE id = ?", (row["id"],))
            await tx.execute("DELETE FROM reminders WHERE booking_id = ?", (row["id"],))
            if row["status"] != "confirmed":
                return None
            return await _promote(tx, tour_id, schedule)

    async def get(self, tour_id: str, channel: str, user_id: str) -> Booking | None:
        """A person's booking of a tour, in any status."""
        return await self._first("SELECT * FROM bookings WHERE tour_id = ? AND channel = ?"
                                 " AND user_id = ?", (tour_id, channel, user_id))  # fmt: skip

    async def by_id(self, booking_id: int) -> Booking | None:
        """A booking by its id."""
        return await self._first("SELECT * FROM bookings WHERE id = ?", (booking_id,))

    async def by_code(self, code: str) -> Booking | None:
        """A booking by its check-in code."""
        return await self._first("SELECT * FROM bookings WHERE code = ?", (code,))

    async def of_tour(self, tour_id: str, include_cancelled: bool = False) -> list[Booking]:
        """A tour's bookings: confirmed first, then the waitlist in order."""
        where = "" if include_cancelled else " AND status != 'cancelled'"
        return await self._all(f"SELECT * FROM bookings WHERE tour_id = ?{where}"
                               " ORDER BY status, queued_at, id", (tour_id,))  # fmt: skip

    async def of_person(self, channel: str, user_id: str) -> list[Booking]:
        """A person's bookings that are not cancelled."""
        return await self._all("SELECT * FROM bookings WHERE channel = ? AND user_id = ?"
                               " AND status != 'cancelled'", (channel, user_id))  # fmt: skip

    async def confirmed(self, tour_id: str) -> int:
        """How many seats are taken."""
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM bookings WHERE tour_id = ?"
                                     " AND status = 'confirmed'", (tour_id,))  # fmt: skip
        return int(row["n"]) if row else 0

    async def mark_arrived(self, code: str, now: float) -> None:
        """Check a confirmed booking in; a second time keeps the first time."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE bookings SET checked_in_at = COALESCE(checked_in_at, ?)"
                             " WHERE code = ? AND status = 'confirmed'", (now, code))  # fmt: skip

    async def due_reminders(self, now: float) -> list[tuple[str, Booking]]:
        """Reminders due and not yet claimed, for confirmed seats."""
        rows = await self.db.fetchall(
            "SELECT r.kind, b.* FROM reminders r JOIN bookings b ON b.id = r.booking_id"
            " WHERE r.sent_at IS NULL AND r.due_at <= ? AND b.status = 'confirmed'"
            " ORDER BY r.due_at, b.id", (now,),
        )  # fmt: skip
        return [(str(row["kind"]), await self._booking(row)) for row in rows]

    async def mark_reminded(self, booking_id: int, kind: str, now: float) -> None:
        """Record a reminder as claimed (inside the caller's transaction)."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE reminders SET sent_at = ? WHERE booking_id = ? AND kind = ?",
                             (now, booking_id, kind))  # fmt: skip

    async def delete_tours(self, tour_ids: Sequence[str]) -> int:
        """Delete every booking of these tours (their reminders cascade); how many."""
        removed = 0
        async with self.db.transaction() as tx:
            for tour_id in tour_ids:
                cursor = await tx.execute("DELETE FROM bookings WHERE tour_id = ?", (tour_id,))
                removed += cursor.rowcount
        return removed

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every booking and reminder row of a person."""
        mine = "SELECT id FROM bookings WHERE channel = ? AND user_id = ?"
        bookings = await self.db.fetchall(mine.replace("id", "*", 1), (channel, user_id))
        reminders = await self.db.fetchall(
            f"SELECT * FROM reminders WHERE booking_id IN ({mine})", (channel, user_id)
        )
        return {"bookings": [dict(r) for r in bookings], "reminders": [dict(r) for r in reminders]}

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete a person's bookings; their reminders go with them."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM reminders WHERE booking_id IN (SELECT id FROM bookings"
                             " WHERE channel = ? AND user_id = ?)", (channel, user_id))  # fmt: skip
            await tx.execute("DELETE FROM bookings WHERE channel = ? AND user_id = ?",
                             (channel, user_id))  # fmt: skip

    async def _first(self, sql: str, params: tuple[object, ...]) -> Booking | None:
        row = await self.db.fetchone(sql, params)
        return await self._booking(row) if row else None

    async def _all(self, sql: str, params: tuple[object, ...]) -> list[Booking]:
        return [await self._booking(row) for row in await self.db.fetchall(sql, params)]

    async def _booking(self, row: sqlite3.Row) -> Booking:
        position = 0
        if row["status"] == "waitlisted":
            found = await self.db.fetchone(
                _POSITION, (row["tour_id"], row["queued_at"], row["queued_at"], row["id"])
            )
            position = int(found["n"]) if found else 0
        return _booking(row, position)


def _booking(row: sqlite3.Row, position: int) -> Booking:
    arrived = row["checked_in_at"]
    return Booking(
        id=int(row["id"]), tour_id=row["tour_id"], channel=row["channel"],
        user_id=row["user_id"], chat_id=row["chat_id"], lang=row["lang"], name=row["name"],
        outlet=row["outlet"], role=row["role"], contact=row["contact"], status=row["status"],
        code=row["code"], position=position, checked_in=arrived is not None,
        checked_in_at=float(arrived) if arrived is not None else None,
        answers=tuple(sorted(json.loads(row["answers"] or "{}").items())),
    )  # fmt: skip


async def _one(
    tx: aiosqlite.Connection, sql: str, params: tuple[object, ...]
) -> sqlite3.Row | None:
    async with tx.execute(sql, params) as cursor:
        return await cursor.fetchone()


async def _upsert(tx: aiosqlite.Connection, tour_id: str, person: Person, status: str,
                  now: float, existing: sqlite3.Row | None) -> int:  # fmt: skip
    values = (person.chat_id, person.lang, person.name, person.outlet, person.role,
              person.contact, json.dumps(dict(person.answers), ensure_ascii=False))  # fmt: skip
    if existing is not None:  # a cancelled booking booked again keeps its code
        await tx.execute(
            "UPDATE bookings SET chat_id = ?, lang = ?, name = ?, outlet = ?, role = ?,"
            " contact = ?, answers = ?, status = ?, queued_at = ?, checked_in_at = NULL"
            " WHERE id = ?", (*values, status, now, existing["id"]),
        )  # fmt: skip
        return int(existing["id"])
    cursor = await tx.execute(
        "INSERT INTO bookings (tour_id, channel, user_id, chat_id, lang, name, outlet, role,"
        " contact, answers, status, queued_at, code)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (tour_id, person.channel, person.user_id, *values, status, now, new_code()),
    )
    return int(cursor.lastrowid or 0)


async def _schedule(tx: aiosqlite.Connection, booking_id: int, schedule: Schedule) -> None:
    for kind, due in schedule:
        await tx.execute("INSERT OR REPLACE INTO reminders (booking_id, kind, due_at)"
                         " VALUES (?, ?, ?)", (booking_id, kind, due))  # fmt: skip


async def _promote(tx: aiosqlite.Connection, tour_id: str, schedule: Schedule) -> int | None:
    row = await _one(tx, "SELECT id FROM bookings WHERE tour_id = ? AND status = 'waitlisted'"
                     " ORDER BY queued_at, id LIMIT 1", (tour_id,))  # fmt: skip
    if row is None:
        return None
    await tx.execute("UPDATE bookings SET status = 'confirmed' WHERE id = ?", (row["id"],))
    await _schedule(tx, int(row["id"]), schedule)
    return int(row["id"])
