"""Throughput and latency of the bot on Telegram, against a bare echo bot on the same library.

    python bench/telegram_throughput.py [--users 100] [--questions 20]

Both bots run the real python-telegram-bot, long-polling a fake Bot API on 127.0.0.1 (in
the same process, so the fake server's work is counted against both alike). Two phases:
- saturation: each user sends a question, waits for the answer, sends the next at once;
  messages per second for both, and the ratio bot/echo (the echo bot is the ceiling the
  framework allows on this machine). Latency here is mostly queueing: users / rate.
- paced: the same users pause THINK_S between an answer and their next question, as
  people do; p50/p99 from update to first reply at that load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.channels.telegram import TelegramBot  # noqa: E402
from bot.config import Config  # noqa: E402
from tests.fake_telegram import FakeBotAPI  # noqa: E402

TOKEN = "123456:BENCH"
THINK_S = 1.0
DEV_SET = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
FALLBACK = [
    "Where is Yiwu market?",
    "上山遗址在哪里？",
    "Comment aller à Wuzhou ?",
    "tell me a joke",
]


@dataclass
class Result:
    name: str
    seconds: float
    latencies_ms: list[float]
    paced_ms: list[float]

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def line(self) -> str:
        return (
            f"{self.name:5} saturated {self.rate:7.1f} msg/s {_percentiles(self.latencies_ms)}"
            f" | paced {_percentiles(self.paced_ms)}"
        )


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):6.1f} ms p99 {p99:6.1f} ms"


def questions() -> list[str]:
    if DEV_SET.exists():
        return [json.loads(line)["q"] for line in DEV_SET.read_text().splitlines() if line]
    return FALLBACK


async def drive(
    fake: FakeBotAPI,
    users: int,
    per_user: int,
    items: list[str],
    first_chat: int = 10_000,
    think_s: float = 0.0,
) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def user(number: int) -> None:
        chat = first_chat + number
        if think_s:  # people do not all start typing at the same instant
            await asyncio.sleep(random.Random(number).uniform(0, think_s))
        for turn in range(per_user):
            before = fake.count(chat)
            start = time.perf_counter()
            fake.push_text(chat, items[(number * per_user + turn) % len(items)], lang=None)
            await fake.wait_reply(chat, before + 1, timeout=60)
            latencies.append((time.perf_counter() - start) * 1000)
            if think_s:
                await asyncio.sleep(think_s)

    start = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    return time.perf_counter() - start, latencies


async def run(name: str, starter: Callable[[FakeBotAPI], Awaitable[Callable[[], Awaitable[None]]]],
              users: int, per_user: int, items: list[str]) -> Result:  # fmt: skip
    fake = FakeBotAPI()
    await fake.start()
    stop = await starter(fake)
    try:
        await drive(fake, 5, 2, items, first_chat=1)  # warm up (other users: flood limit)
        seconds, latencies = await drive(fake, users, per_user, items)
        _, paced = await drive(fake, users, per_user, items, first_chat=50_000, think_s=THINK_S)
    finally:
        await stop()
        await fake.stop()
    return Result(name, seconds, latencies, paced)


async def start_echo(fake: FakeBotAPI) -> Callable[[], Awaitable[None]]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{fake.url}/bot")
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, echo))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling()

    async def stop() -> None:
        assert application.updater is not None
        await application.updater.stop()
        await application.stop()
        await application.shutdown()

    return stop


async def start_bot(fake: FakeBotAPI) -> Callable[[], Awaitable[None]]:
    folder = tempfile.mkdtemp()
    app = await build_app(Config(db_path=f"{folder}/bench.sqlite3"))
    telegram = TelegramBot(TOKEN, app.handle, app.dispatcher.public_commands(), fake.url)
    await telegram.start()

    async def stop() -> None:
        await telegram.stop()
        await app.close()

    return stop


async def main(users: int, per_user: int) -> None:
    items = questions()
    echo = await run("echo", start_echo, users, per_user, items)
    bot = await run("bot", start_bot, users, per_user, items)
    print(
        f"{users} users x {per_user} questions, fake Bot API on 127.0.0.1; paced: {THINK_S} s think"
    )
    print(echo.line())
    print(bot.line())
    print(f"ratio bot/echo throughput: {bot.rate / echo.rate:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.questions))
