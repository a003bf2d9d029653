"""What the RSVP service needs from storage, as a protocol a backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Person:
    """Who asks for a seat, and their answers to the form."""

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
    """One person's place on one tour."""

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
    status: str  # confirmed, waitlisted, cancelled
    code: str
    position: int  # 1-based place on the waitlist; 0 when confirmed or cancelled
    checked_in: bool
    checked_in_at: float | None = None
    answers: tuple[tuple[str, str], ...] = ()


# (kind, due timestamp) of the reminders a confirmed seat gets.
Schedule = Sequence[tuple[str, float]]


class Bookings(Protocol):
    """Seats and waitlists; every method that writes is one transaction."""

    async def book(self, tour_id: str, person: Person, capacity: int, schedule: Schedule,
                   now: float) -> int:  # fmt: skip
        """Confirm if a seat is free, else waitlist; a repeat changes nothing. The id."""
        ...

    async def cancel(
        self, tour_id: str, channel: str, user_id: str, schedule: Schedule
    ) -> int | None:
        """Cancel; the first waiting gets the seat (and `schedule`). The promoted id."""
        ...

    async def get(self, tour_id: str, channel: str, user_id: str) -> Booking | None:
        """A person's booking of a tour, in any status."""
        ...

    async def by_id(self, booking_id: int) -> Booking | None:
        """A booking by its id."""
        ...

    async def by_code(self, code: str) -> Booking | None:
        """A booking by its check-in code."""
        ...

    async def of_tour(self, tour_id: str, include_cancelled: bool = False) -> list[Booking]:
        """A tour's bookings: confirmed first, then the waitlist in order."""
        ...

    async def of_person(self, channel: str, user_id: str) -> list[Booking]:
        """A person's bookings that are not cancelled."""
        ...

    async def confirmed(self, tour_id: str) -> int:
        """How many seats are taken."""
        ...

    async def mark_arrived(self, code: str, now: float) -> None:
        """Check a confirmed booking in; a second time keeps the first time."""
        ...

    async def due_reminders(self, now: float) -> list[tuple[str, Booking]]:
        """Reminders due and not yet claimed, for confirmed seats."""
        ...

    async def mark_reminded(self, booking_id: int, kind: str, now: float) -> None:
        """Record a reminder as claimed (inside the caller's transaction)."""
        ...

    async def delete_tours(self, tour_ids: Sequence[str]) -> int:
        """Delete every booking of these tours; how many."""
        ...

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every booking and reminder row of a person."""
        ...

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete a person's bookings (their reminders go with them)."""
        ...
