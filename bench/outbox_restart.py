"""kill -9 the bot while 200 tour reminders are due, restart it, and count what arrived.

The bot runs as a real process (`python -m bot run`, long polling) against the fake Bot
API served by this script on 127.0.0.1. Prints, per run: reminders received, people who got
none (losses), people who got more than one (duplicates), and when the kill landed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_app  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core.outbox import DEFAULT_RATE_PER_S  # noqa: E402
from bot.rsvp.service import Person  # noqa: E402
from tests.fake_telegram import FakeBotAPI  # noqa: E402

TOUR = "restart-bench"


def knowledge_with_a_tour_tomorrow(folder: Path) -> Path:
    """A copy of knowledge/ whose one tour starts in 25 hours."""
    copy = folder / "knowledge"
    shutil.copytree(ROOT / "knowledge", copy)
    data = yaml.safe_load((copy / "tours.yaml").read_text(encoding="utf-8"))
    tour = {**data["tours"][0], "id": TOUR, "sample": False, "capacity": 1000}
    start = datetime.now(UTC) + timedelta(hours=25)
    tour.update(start=start.isoformat(), end=(start + timedelta(hours=8)).isoformat(),
                rsvp_closes=(start - timedelta(hours=1)).isoformat())  # fmt: skip
    (copy / "tours.yaml").write_text(yaml.safe_dump({"tours": [tour]}, allow_unicode=True))
    return copy


async def book(knowledge: Path, db: Path, people: int) -> None:
    """`people` confirmed reporters on Telegram, chats 10000…, their 24 h reminder due now
    (as if an hour had passed)."""
    app = await build_app(Config(knowledge_dir=knowledge, db_path=str(db)))
    try:
        for n in range(people):
            chat = str(10_000 + n)
            await app.rsvp.request(TOUR, Person("telegram", chat, chat, "en", f"R{n}", "O"))
        await app.db.write("UPDATE reminders SET due_at = ? WHERE kind = '24h'", (0.0,))
    finally:
        await app.close()


def start_bot(knowledge: Path, db: Path, api_url: str) -> subprocess.Popen[bytes]:
    """The bot as its own process, polling the fake Bot API."""
    env = {**os.environ, "TELEGRAM_TOKEN": "1:BENCH", "TELEGRAM_API_URL": api_url,
           "BOT_KNOWLEDGE_DIR": str(knowledge), "BOT_DB": str(db)}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def reminders(fake: FakeBotAPI) -> Counter[str]:
    """How many reminders each chat received."""
    return Counter(str(c.params["chat_id"]) for c in fake.sent("sendMessage")
                   if "Reminder" in c.params.get("text", ""))  # fmt: skip


async def run_once(people: int, kill_after_s: float) -> dict[str, int]:
    """Book, start, kill -9 `kill_after_s` after the first reminder, restart, wait, count."""
    fake = FakeBotAPI()
    await fake.start()
    with tempfile.TemporaryDirectory() as folder:
        knowledge = knowledge_with_a_tour_tomorrow(Path(folder))
        db = Path(folder) / "bot.sqlite3"
        await book(knowledge, db, people)
        first = start_bot(knowledge, db, fake.url)
        await fake.wait_for(lambda: sum(reminders(fake).values()) >= 1, timeout=120)
        await asyncio.sleep(kill_after_s)  # a moment unrelated to any one send
        first.send_signal(signal.SIGKILL)
        first.wait()
        at_kill = sum(reminders(fake).values())
        second = start_bot(knowledge, db, fake.url)
        try:
            await fake.wait_for(lambda: len(reminders(fake)) >= people, timeout=120)
            await asyncio.sleep(2.0)  # anything sent twice would arrive by now
        finally:
            second.terminate()
            second.wait()
    counts = reminders(fake)
    await fake.stop()
    duplicates = sum(n - 1 for n in counts.values())
    return {"received": sum(counts.values()), "people": len(counts), "at_kill": at_kill,
            "lost": people - len(counts), "duplicates": duplicates}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for run in range(1, args.runs + 1):
        kill_after_s = rng.uniform(0.5, args.people / DEFAULT_RATE_PER_S - 0.5)
        result = asyncio.run(run_once(args.people, kill_after_s))
        print(f"run {run}: killed after {result['at_kill']} reminders; received "
              f"{result['received']} by {result['people']}/{args.people} people; "
              f"lost {result['lost']}, duplicates {result['duplicates']}")  # fmt: skip


if __name__ == "__main__":
    main()
