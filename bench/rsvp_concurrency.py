"""500 reporters RSVP for a 30-seat tour at the same moment, through the RSVP service.

    python bench/rsvp_concurrency.py [--users 500] [--seats 30] [--runs 5]

Prints confirmed, waitlisted, errors and RSVPs per second for each run, on a real SQLite
file; then the same 500 through the Telegram channel (real python-telegram-bot, fake Bot
API on 127.0.0.1), each reporter going through the whole form for the 30-seat sample tour.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import open_repositories  # noqa: E402
from bot.rsvp.service import Person, RsvpService  # noqa: E402
from bot.rsvp.tours import Tour  # noqa: E402

CST = timezone(timedelta(hours=8))


async def run_once(users: int, seats: int) -> tuple[int, int, int, float, bool]:
    now = datetime.now(CST)
    start, end, closes = (now + timedelta(days=d) for d in (9, 9.3, 7))
    tour = Tour("bench", {"en": "B"}, {"en": "B"}, start, end, closes, {"en": "-"}, (), seats)
    with tempfile.TemporaryDirectory() as folder:
        repos = await open_repositories(str(Path(folder) / "bench.sqlite3"))
        service = RsvpService(repos.bookings, {"bench": tour}, lambda: datetime.now(CST))
        people = [Person("telegram", str(n), str(n), "en", f"R{n}", "Outlet") for n in range(users)]
        start = time.perf_counter()
        results = await asyncio.gather(
            *(service.request("bench", p) for p in people), return_exceptions=True
        )
        seconds = time.perf_counter() - start
        await repos.db.close()
    errors = sum(isinstance(r, BaseException) for r in results)
    ok = [r for r in results if not isinstance(r, BaseException)]
    confirmed = sum(r.status == "confirmed" for r in ok)
    waiting = sorted((r for r in ok if r.status == "waitlisted"), key=lambda r: r.position)
    in_order = [int(r.user_id) for r in waiting] == sorted(int(r.user_id) for r in waiting)
    return confirmed, len(waiting), errors, users / seconds, in_order


async def run_telegram(users: int) -> tuple[int, int, float]:
    """Every reporter: /tours, RSVP, name, outlet, role, skip contact, consent."""
    from bot.app import build_app
    from bot.channels.telegram import TelegramBot
    from bot.config import Config
    from tests.fake_telegram import FakeBotAPI

    tour = "jinhua-heritage-and-industry"
    steps: list[tuple[str, str]] = [
        ("text", "/tours"), ("press", f"rsvp:v1:{tour}:join"), ("text", "Reporter"),
        ("text", "Outlet"), ("text", "camera"), ("press", f"rsvp:v1:{tour}:skip"),
        ("text", "no interpreter"), ("press", f"rsvp:v1:{tour}:consent"),
    ]  # fmt: skip
    fake = FakeBotAPI()
    await fake.start()
    with tempfile.TemporaryDirectory() as folder:
        app = await build_app(Config(db_path=f"{folder}/tg.sqlite3", book_samples=True))
        telegram = TelegramBot("1:BENCH", app.handle, app.dispatcher.public_commands(), fake.url)
        await telegram.start()

        async def reporter(number: int) -> None:
            chat = 100_000 + number
            for kind, value in steps:
                before = fake.count(chat)
                if kind == "text":
                    fake.push_text(chat, value, lang="en")
                else:
                    fake.push_callback(chat, value, lang="en")
                await fake.wait_reply(chat, before + 1, timeout=120)

        start = time.perf_counter()
        await asyncio.gather(*(reporter(n) for n in range(users)))
        seconds = time.perf_counter() - start
        bookings = await app.rsvp.bookings(tour)
        await telegram.stop()
        await app.close()
    await fake.stop()
    confirmed = sum(b.status == "confirmed" for b in bookings)
    return confirmed, len(bookings) - confirmed, users / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seats", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        confirmed, waiting, errors, rate, in_order = asyncio.run(run_once(args.users, args.seats))
        print(f"run {run}: confirmed {confirmed}, waitlisted {waiting} (in request order: "
              f"{in_order}), errors {errors}, {rate:7.1f} RSVPs/s")  # fmt: skip
    confirmed, waiting, rate = asyncio.run(run_telegram(args.users))
    print(f"through Telegram (8 updates per reporter): confirmed {confirmed}, "
          f"waitlisted {waiting}, {rate:6.1f} complete RSVPs/s")  # fmt: skip


if __name__ == "__main__":
    main()
