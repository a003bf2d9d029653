"""Seats and waitlist, correct under any number of simultaneous presses.

The seat check and the insert run in one SQLite transaction (BEGIN IMMEDIATE), and an
asyncio lock keeps other coroutines' statements out of it, since they share one
connection. Repeated presses change nothing twice: one row per (tour, person).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.rsvp.tours import Tour

# No 0/O, 1/I/L: codes are read aloud and typed at the door.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
REMINDERS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}


@dataclass(frozen=True, slots=True)
class Person:
    channel: str
    user_id: str
    chat_id: str
    lang: str
    name: str
    outlet: str
    role: str = ""
    contact: str = ""
    answers: tuple[tuple[str, str], ...] = ()  # the tour's extra questions: (id, answer)


@dataclass(frozen=True, slots=True)
class Booking:
    id: int
    tour_id: str
    channel: str
    user_id: str
    chat_id: str
    lang: str
    name: str
    outlet: str
    role: str
    contact: str
    status: str
    code: str
    position: int  # 1-based place on the waitlist; 0 when confirmed or cancelled
    checked_in: bool


class RsvpError(Exception):
    """closed, unknown-tour"""


class RsvpService:
    def __init__(
        self,
        db: aiosqlite.Connection,
        tours: dict[str, Tour],
        clock: Callable[[], datetime],
        lock: asyncio.Lock | None = None,  # shared by every writer on the connection
    ):
        self.db = db
        self.tours = tours
        self.clock = clock
        self._lock = lock or asyncio.Lock()

    async def setup(self) -> None:
        """The bookings table comes with the store's migrations (bot/storage.py)."""
        from bot.storage import migrate

        await migrate(self.db)

    async def request(self, tour_id: str, person: Person) -> Booking:
        """Confirm a seat if one is free, else join the waitlist; a repeat changes nothing."""
        tour = self._open_tour(tour_id)
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                existing = await self._row(tour_id, person.channel, person.user_id)
                if existing is None or existing[0] == "cancelled":
                    status = (
                        "confirmed"
                        if await self._confirmed(tour_id) < tour.capacity
                        else "waitlisted"
                    )
                    booking_id = await self._upsert(tour_id, person, status)
                    if status == "confirmed":
                        await self._schedule_reminders(booking_id, tour)
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
        booking = await self.booking(tour_id, person.channel, person.user_id)
        assert booking is not None
        return booking

    async def cancel(self, tour_id: str, channel: str, user_id: str) -> Booking | None:
        """Cancel; if a seat frees, the first on the waitlist gets it. Returns who did."""
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                row = await self._row(tour_id, channel, user_id)
                promoted_id = None
                if row is not None and row[0] != "cancelled":
                    await self.db.execute(
                        "UPDATE bookings SET status = 'cancelled' WHERE tour_id = ? AND channel = ?"
                        " AND user_id = ?", (tour_id, channel, user_id),
                    )  # fmt: skip
                    if row[0] == "confirmed":
                        promoted_id = await self._promote(tour_id)
                    if promoted_id is not None:
                        await self._schedule_reminders(promoted_id, self.tours[tour_id])
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
        return await self._by_id(promoted_id) if promoted_id else None

    async def _schedule_reminders(self, booking_id: int, tour: Tour) -> None:
        """Inside the caller's transaction: the reminders still ahead (one already past
        when the seat came is not sent late)."""
        now = self.clock()
        for kind, before in REMINDERS.items():
            if tour.start - before > now:
                await self.db.execute(
                    "INSERT OR REPLACE INTO reminders (booking_id, kind, due_at) VALUES (?, ?, ?)",
                    (booking_id, kind, (tour.start - before).timestamp()),
                )

    async def claim_due_reminders(self) -> list[tuple[str, Booking]]:
        """Reminders now due for confirmed seats on tours not yet begun, marked sent first
        (a reminder is never sent twice; one due while the bot was down goes out now)."""
        now = self.clock()
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                async with self.db.execute(
                    "SELECT r.booking_id, r.kind, b.tour_id FROM reminders r"
                    " JOIN bookings b ON b.id = r.booking_id"
                    " WHERE r.sent_at IS NULL AND r.due_at <= ? AND b.status = 'confirmed'",
                    (now.timestamp(),),
                ) as cursor:
                    rows = [r for r in await cursor.fetchall() if self._not_begun(str(r[2]), now)]
                for booking_id, kind, _ in rows:
                    await self.db.execute(
                        "UPDATE reminders SET sent_at = ? WHERE booking_id = ? AND kind = ?",
                        (now.timestamp(), booking_id, kind),
                    )
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
        claimed = []
        for booking_id, kind, _ in rows:
            booking = await self._by_id(int(booking_id))
            if booking is not None:
                claimed.append((str(kind), booking))
        return claimed

    def _not_begun(self, tour_id: str, now: datetime) -> bool:
        tour = self.tours.get(tour_id)
        return tour is not None and tour.start > now

    async def bookings(self, tour_id: str, include_cancelled: bool = False) -> list[Booking]:
        query = "SELECT * FROM bookings WHERE tour_id = ?"
        if not include_cancelled:
            query += " AND status != 'cancelled'"
        async with self.db.execute(query + " ORDER BY status, queued_at, id", (tour_id,)) as cur:
            rows = await cur.fetchall()
        return [await self._booking(row) for row in rows]

    async def bookings_of(self, channel: str, user_id: str) -> list[Booking]:
        """A person's active bookings, soonest tour first."""
        async with self.db.execute(
            "SELECT * FROM bookings WHERE channel = ? AND user_id = ? AND status != 'cancelled'",
            (channel, user_id),
        ) as cursor:
            rows = await cursor.fetchall()
        found = [await self._booking(row) for row in rows if row[1] in self.tours]
        return sorted(found, key=lambda b: self.tours[b.tour_id].start)

    async def seats_left(self, tour_id: str) -> int:
        return max(0, self.tours[tour_id].capacity - await self._confirmed(tour_id))

    async def booking(self, tour_id: str, channel: str, user_id: str) -> Booking | None:
        async with self.db.execute(
            "SELECT * FROM bookings WHERE tour_id = ? AND channel = ? AND user_id = ?",
            (tour_id, channel, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return await self._booking(row) if row else None

    async def check_in(self, code: str) -> Booking | None:
        """Mark a confirmed booking as arrived; codes are case-insensitive."""
        clean = code.strip().upper()
        async with self._lock:
            await self._mark_arrived(clean)
        async with self.db.execute("SELECT * FROM bookings WHERE code = ?", (clean,)) as cursor:
            row = await cursor.fetchone()
        return await self._booking(row) if row else None

    async def _mark_arrived(self, clean: str) -> None:
        await self.db.execute(
            "UPDATE bookings SET checked_in_at = COALESCE(checked_in_at, ?)"
            " WHERE code = ? AND status = 'confirmed'", (self.clock().timestamp(), clean),
        )  # fmt: skip
        await self.db.commit()

    async def export_csv(self, tour_id: str, headers: list[str]) -> bytes:
        """UTF-8 with BOM and CRLF, which Excel opens with Chinese and Arabic intact."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        extra = [qid for qid, _ in self.tours[tour_id].questions] if tour_id in self.tours else []
        writer.writerow([*headers, *extra])
        for b in await self.bookings(tour_id):
            answers = json.loads(await self._answers(b.id))
            writer.writerow([b.code, b.status, b.position or "", b.name, b.outlet, b.role,
                             b.contact, b.lang, "yes" if b.checked_in else "",
                             *(answers.get(q, "") for q in extra)])  # fmt: skip
        return "\ufeff".encode() + out.getvalue().encode("utf-8")

    async def _answers(self, booking_id: int) -> str:
        async with self.db.execute(
            "SELECT answers FROM bookings WHERE id = ?", (booking_id,)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else "{}"

    async def purge(self, keep_days: int) -> int:
        """Delete personal data of tours that ended more than `keep_days` ago."""
        cutoff = self.clock() - timedelta(days=keep_days)
        ended = [t.id for t in self.tours.values() if t.end < cutoff]
        async with self._lock:
            return await self._delete_tours(ended)

    async def _delete_tours(self, ended: list[str]) -> int:
        removed = 0
        for tour_id in ended:
            await self.db.execute(
                "DELETE FROM reminders WHERE booking_id IN"
                " (SELECT id FROM bookings WHERE tour_id = ?)", (tour_id,),
            )  # fmt: skip
            cursor = await self.db.execute("DELETE FROM bookings WHERE tour_id = ?", (tour_id,))
            removed += cursor.rowcount
        await self.db.commit()
        return removed

    async def forget(self, channel: str, user_id: str) -> None:
        """Remove a person's bookings at once; their seats go to the waitlist."""
        async with self.db.execute(
            "SELECT tour_id FROM bookings WHERE channel = ? AND user_id = ?", (channel, user_id)
        ) as cursor:
            tour_ids = [row[0] for row in await cursor.fetchall()]
        for tour_id in tour_ids:
            if tour_id in self.tours:
                await self.cancel(tour_id, channel, user_id)
        async with self._lock:
            await self._delete_person(channel, user_id)

    async def _delete_person(self, channel: str, user_id: str) -> None:
        await self.db.execute(
            "DELETE FROM bookings WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        await self.db.commit()

    # inside a transaction ---------------------------------------------------------------

    def _open_tour(self, tour_id: str) -> Tour:
        tour = self.tours.get(tour_id)
        if tour is None:
            raise RsvpError("unknown-tour")
        if self.clock() >= tour.rsvp_closes:
            raise RsvpError("closed")
        return tour

    async def _row(self, tour_id: str, channel: str, user_id: str) -> tuple[str] | None:
        async with self.db.execute(
            "SELECT status FROM bookings WHERE tour_id = ? AND channel = ? AND user_id = ?",
            (tour_id, channel, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return (str(row[0]),) if row else None

    async def _confirmed(self, tour_id: str) -> int:
        async with self.db.execute(
            "SELECT COUNT(*) FROM bookings WHERE tour_id = ? AND status = 'confirmed'", (tour_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _upsert(self, tour_id: str, person: Person, status: str) -> int:
        values = (
            person.chat_id,
            person.lang,
            person.name,
            person.outlet,
            person.role,
            person.contact,
            json.dumps(dict(person.answers), ensure_ascii=False),
        )
        now = self.clock().timestamp()
        cursor = await self.db.execute(
            "UPDATE bookings SET chat_id = ?, lang = ?, name = ?, outlet = ?, role = ?,"
            " contact = ?, answers = ?, status = ?, queued_at = ?, checked_in_at = NULL"
            " WHERE tour_id = ? AND channel = ? AND user_id = ?",
            (*values, status, now, tour_id, person.channel, person.user_id),
        )
        if cursor.rowcount == 0:
            cursor = await self.db.execute(
                "INSERT INTO bookings (tour_id, channel, user_id, chat_id, lang, name, outlet,"
                " role, contact, answers, status, queued_at, code)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tour_id, person.channel, person.user_id, *values, status, now, new_code()),
            )
            return int(cursor.lastrowid or 0)
        async with self.db.execute(
            "SELECT id FROM bookings WHERE tour_id = ? AND channel = ? AND user_id = ?",
            (tour_id, person.channel, person.user_id),
        ) as found:
            row = await found.fetchone()
        return int(row[0]) if row else 0

    async def _promote(self, tour_id: str) -> int | None:
        async with self.db.execute(
            "SELECT id FROM bookings WHERE tour_id = ? AND status = 'waitlisted'"
            " ORDER BY queued_at, id LIMIT 1", (tour_id,),
        ) as cursor:  # fmt: skip
            row = await cursor.fetchone()
        if row is None:
            return None
        await self.db.execute("UPDATE bookings SET status = 'confirmed' WHERE id = ?", (row[0],))
        return int(row[0])

    async def _by_id(self, booking_id: int) -> Booking | None:
        async with self.db.execute("SELECT * FROM bookings WHERE id = ?", (booking_id,)) as cursor:
            row = await cursor.fetchone()
        return await self._booking(row) if row else None

    async def _booking(self, row: aiosqlite.Row | tuple[object, ...]) -> Booking:
        values = list(row)
        position = 0
        if values[10] == "waitlisted":
            async with self.db.execute(
                "SELECT COUNT(*) FROM bookings WHERE tour_id = ? AND status = 'waitlisted'"
                " AND (queued_at < ? OR (queued_at = ? AND id <= ?))",
                (values[1], values[11], values[11], values[0]),
            ) as cursor:
                found = await cursor.fetchone()
            position = int(found[0]) if found else 0
        text = [str(v) for v in values]
        return Booking(
            id=int(values[0]), tour_id=text[1], channel=text[2], user_id=text[3],
            chat_id=text[4], lang=text[5], name=text[6], outlet=text[7], role=text[8],
            contact=text[9], status=text[10], code=text[12], position=position,
            checked_in=values[13] is not None,
        )  # fmt: skip


def new_code() -> str:
    """A short, unambiguous code; UNIQUE in the table catches the rare collision."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
