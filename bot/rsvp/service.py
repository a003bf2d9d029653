"""Media-tour RSVPs: seats, waitlist, reminders and exports, as plain rules on a repository.

Correct under any number of simultaneous presses: the repository checks the seat and
inserts in one transaction, and repeated presses change nothing twice (one row per person
and tour). The service returns data; the rsvp feature turns it into replies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.rsvp.repository import Booking, Bookings, Person, Schedule
from bot.rsvp.tours import Tour

__all__ = ["Booking", "Person", "RsvpError", "RsvpService"]

REMINDERS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}
# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RsvpError(Exception):
    """A request the rules refuse: 'closed', 'unknown-tour' or 'sample'."""


class RsvpService:
    """The rules of booking a seat on a media tour."""

    def __init__(
        self,
        bookings: Bookings,
        tours: dict[str, Tour],
        clock: Callable[[], datetime],
        book_samples: bool = False,
    ) -> None:
        self.bookings_repo = bookings
        self.tours = tours
        self.clock = clock
        # Sample tours are placeholders: staff must not get bookings for a tour that is not
        # announced. Rehearsals and tests switch this on deliberately (BOT_BOOK_SAMPLES=1).
        self.book_samples = book_samples

    def replace_tours(self, tours: dict[str, Tour]) -> None:
        """Serve these tours from now on (an edited tours.yaml, validated by the caller);
        one assignment, so a reader sees the old table or the new, never a mix."""
        self.tours = dict(tours)

    def bookable(self, tour: Tour) -> bool:
        """Whether a tour takes bookings now: open, and not a sample (unless allowed)."""
        return self.clock() < tour.rsvp_closes and (self.book_samples or not tour.sample)

    def live_samples(self) -> list[Tour]:
        """Sample tours that have not ended: placeholders still shown to reporters."""
        now = self.clock()
        return [t for t in self.tours.values() if t.sample and t.end > now]

    async def request(self, tour_id: str, person: Person) -> Booking:
        """Confirm a seat if one is free, else join the waitlist; a repeat changes nothing."""
        tour = self._open_tour(tour_id)
        now = self.clock()
        booking_id = await self.bookings_repo.book(
            tour_id, person, tour.capacity, self._schedule(tour, now), now.timestamp()
        )
        booking = await self.bookings_repo.by_id(booking_id)
        assert booking is not None
        return booking

    async def cancel(self, tour_id: str, channel: str, user_id: str) -> Booking | None:
        """Cancel; if a seat frees, the first on the waitlist gets it. Returns who did."""
        tour = self.tours.get(tour_id)
        schedule = self._schedule(tour, self.clock()) if tour else ()
        promoted = await self.bookings_repo.cancel(tour_id, channel, user_id, schedule)
        return await self.bookings_repo.by_id(promoted) if promoted else None

    def _schedule(self, tour: Tour, now: datetime) -> Schedule:
        """The reminders still ahead (one already past when the seat came is not sent late)."""
        due = ((kind, tour.start - before) for kind, before in REMINDERS.items())
        return [(kind, at.timestamp()) for kind, at in due if at > now]

    async def due_reminders(self) -> list[tuple[str, Booking]]:
        """Reminders now due for confirmed seats on tours not yet begun."""
        now = self.clock()
        due = await self.bookings_repo.due_reminders(now.timestamp())
        return [(kind, b) for kind, b in due if self._not_begun(b.tour_id, now)]

    async def claim_due_reminders(self) -> list[tuple[str, Booking]]:
        """The reminders now due, each marked as claimed, so never claimed twice; call it
        inside the transaction that queues them."""
        due = await self.due_reminders()
        for kind, booking in due:
            await self.bookings_repo.mark_reminded(booking.id, kind, self.clock().timestamp())
        return due

    def _not_begun(self, tour_id: str, now: datetime) -> bool:
        tour = self.tours.get(tour_id)
        return tour is not None and tour.start > now

    async def bookings(self, tour_id: str, include_cancelled: bool = False) -> list[Booking]:
        """A tour's bookings: confirmed first, then the waitlist in order."""
        return await self.bookings_repo.of_tour(tour_id, include_cancelled)

    async def bookings_of(self, channel: str, user_id: str) -> list[Booking]:
        """A person's active bookings, soonest tour first."""
        found = await self.bookings_repo.of_person(channel, user_id)
        return sorted(
            (b for b in found if b.tour_id in self.tours), key=lambda b: self.tours[b.tour_id].start
        )

    async def seats_left(self, tour_id: str) -> int:
        """Free seats on a tour."""
        return max(0, self.tours[tour_id].capacity - await self.bookings_repo.confirmed(tour_id))

    async def booking(self, tour_id: str, channel: str, user_id: str) -> Booking | None:
        """A person's booking of a tour, in any status."""
        return await self.bookings_repo.get(tour_id, channel, user_id)

    async def check_in(self, code: str) -> tuple[Booking | None, bool]:
        """Mark a confirmed booking as arrived (codes are case-insensitive); the booking,
        and whether it was checked in before this call."""
        clean = code.strip().upper()[:20]
        before = await self.bookings_repo.by_code(clean)
        if before is None or before.status != "confirmed":
            return before, False
        await self.bookings_repo.mark_arrived(clean, self.clock().timestamp())
        return await self.bookings_repo.by_code(clean), before.checked_in

    async def export_csv(
        self,
        tour_id: str,
        headers: Sequence[str],
        statuses: Mapping[str, str] | None = None,
        yes: str = "yes",
        lang: str = "en",
    ) -> bytes:
        """UTF-8 with BOM and CRLF, which Excel opens with Chinese and Arabic intact; status
        values as `statuses` names them, the extra questions under their `lang` labels."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        tour = self.tours.get(tour_id)
        extra = list(tour.questions) if tour else []
        writer.writerow([_cell(h) for h in (*headers, *(_label(q, lang) for _, q in extra))])
        names = statuses or {}
        for b in await self.bookings(tour_id):
            answers = dict(b.answers)
            writer.writerow([_cell(v) for v in (
                b.code, names.get(b.status, b.status), b.position or "", b.name, b.outlet, b.role,
                b.contact, b.lang, yes if b.checked_in else "",
                *(answers.get(qid, "") for qid, _ in extra))])  # fmt: skip
        return "\ufeff".encode() + out.getvalue().encode("utf-8")

    async def purge(self, keep_days: int) -> int:
        """Delete personal data of tours that ended more than `keep_days` ago."""
        if keep_days < 0:
            raise ValueError("keep_days must not be negative")
        cutoff = self.clock() - timedelta(days=keep_days)
        return await self.bookings_repo.delete_tours(
            [t.id for t in self.tours.values() if t.end < cutoff]
        )

    async def forget(self, channel: str, user_id: str) -> list[Booking]:
        """Cancel and delete a person's bookings; returns whoever got their seats."""
        promoted = []
        for booking in await self.bookings_repo.of_person(channel, user_id):
            moved_up = await self.cancel(booking.tour_id, channel, user_id)
            if moved_up is not None:
                promoted.append(moved_up)
        await self.bookings_repo.erase_person(channel, user_id)
        return promoted

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every booking and reminder row of a person, as /forget would delete them."""
        return await self.bookings_repo.export_person(channel, user_id)

    def _open_tour(self, tour_id: str) -> Tour:
        tour = self.tours.get(tour_id)
        if tour is None:
            raise RsvpError("unknown-tour")
        if self.clock() >= tour.rsvp_closes:
            raise RsvpError("closed")
        if tour.sample and not self.book_samples:
            raise RsvpError("sample")
        return tour


def _label(texts: Mapping[str, str], lang: str) -> str:
    """A question's text in `lang`, else English."""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
