"""A broadcast to many subscribers through a rate-limited fake Bot API, with and without
the bot killed (SIGKILL) half way, while 20 people chat with the bot.

    python bench/broadcast_rate.py [--recipients 10000] [--rate 25] [--chatters 20]

The fake API runs in this process and enforces about Telegram's limits: 30 messages a
second over all chats (a sliding one-second window) and one a second per chat (a bucket of
three, as Telegram lets a short burst such as a split long message through), both token
buckets (30 refilled at 30/s overall: "about 30 a second", not a strict window), answering
429 with retry_after when exceeded, and 403 "bot was blocked by the user" for 1 % of the
recipients. The bot runs as `python -m bot run` in a subprocess (real PTB long polling
and the real outbox worker), so it can be killed. Figures: achieved rate as a fraction of
the configured one, 429s, duplicates and losses, and the chatters' p50/p99 reply times.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.broadcast.repository import Draft, Report  # noqa: E402
from bot.broadcast.service import Audience  # noqa: E402
from bot.config import Config  # noqa: E402
from tests.fake_telegram import Call, FakeBotAPI  # noqa: E402

TOKEN = "123456:BENCH"
STAFF = 500
FIRST_RECIPIENT = 1_000_000
FIRST_CHATTER = 2_000
GLOBAL_PER_S = 30
CHAT_BURST = 3
SENDS = {"sendMessage", "sendVenue", "sendDocument", "editMessageText"}
# People read the answer and type the next question; 20 of them add about 1.7 msg/s,
# inside the 5/s the default outbox rate (25) leaves under Telegram's 30.
THINK_S = (8.0, 16.0)
QUESTIONS = ["/help", "/tours", "tell me a joke", "What is the Shangshan site?"]


class LimitedBotAPI(FakeBotAPI):
    """The fake Bot API with Telegram's flood limits and some users who blocked the bot."""

    def __init__(self, blocked: set[str]) -> None:
        super().__init__()
        self.blocked = blocked
        self.buckets: dict[str, tuple[float, float]] = {}  # chat -> (tokens, at)
        self.too_many: collections.Counter[str] = collections.Counter()  # lane -> 429s
        self.delivered: collections.Counter[str] = collections.Counter()  # chat -> messages

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if method not in SENDS:
            return await super()._endpoint(request)
        params = await self._params(request)
        chat = str(params.get("chat_id"))
        if not self._allowed(chat):
            self.too_many["chat" if int(chat) < FIRST_RECIPIENT else "broadcast"] += 1
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry "
                    "after 1", "parameters": {"retry_after": 1}}  # fmt: skip
            return JSONResponse(body, status_code=429)
        if chat in self.blocked:
            body = {"ok": False, "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user"}  # fmt: skip
            return JSONResponse(body, status_code=403)
        self.delivered[chat] += method == "sendMessage"
        return await self._answer(method, params, chat)

    async def _answer(self, method: str, params: dict[str, Any], chat: str) -> JSONResponse:
        self.calls.append(Call(method, params))
        self.counts[(method, chat)] += 1
        if method == "sendMessage":
            self._wake_reply_waiters(chat)
        handler = getattr(self, f"_api_{method}")
        return JSONResponse({"ok": True, "result": await handler(params)})

    def _allowed(self, chat: str) -> bool:
        now = time.monotonic()
        overall = self._take("*", GLOBAL_PER_S, GLOBAL_PER_S, now, dry=True)
        if not overall or not self._take(chat, CHAT_BURST, 1.0, now, dry=True):
            return False
        self._take("*", GLOBAL_PER_S, GLOBAL_PER_S, now)
        self._take(chat, CHAT_BURST, 1.0, now)
        return True

    def _take(self, key: str, size: float, per_s: float, now: float, dry: bool = False) -> bool:
        """A token bucket: `size` messages at once, refilled at `per_s` a second."""
        tokens, at = self.buckets.get(key, (size, now))
        tokens = min(size, tokens + (now - at) * per_s)
        if tokens < 1:
            return False
        if not dry:
            self.buckets[key] = (tokens - 1, now)
        return True


@dataclass
class Run:
    """What one run measured."""

    name: str
    recipients: int
    blocked: int
    seconds: float = 0.0
    sending_s: float = 0.0
    delivered: int = 0
    duplicates: int = 0
    losses: int = 0
    too_many: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    crashes: int = 0


async def prepare(db: str, recipients: int) -> None:
    """Subscribers, and a broadcast to all of them queued as the chat or CLI would."""
    config = replace(Config(), db_path=db, staff_ids=frozenset({f"telegram:{STAFF}"}))
    app = await build_app(config)
    async with app.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO subscribers (channel, user_id, chat_id, lang, subscribed_at)"
            " VALUES ('telegram', ?, ?, 'en', ?)",
            [(str(n), str(n), time.time()) for n in _recipient_ids(recipients)],
        )
    text = "Press conference tomorrow 10:00 <Media centre> & online 🎥"
    draft = Draft(f"telegram:{STAFF}", "all", {"en": text}, "en", time.time(), True)
    await app.broadcasts.queue(draft, Audience("all"), report=Report("telegram", str(STAFF), "en"))
    await app.close()


def _recipient_ids(count: int) -> range:
    return range(FIRST_RECIPIENT, FIRST_RECIPIENT + count)


def start_bot(fake: FakeBotAPI, db: str, rate: float, log: Path) -> subprocess.Popen[bytes]:
    """The bot as deployed: `python -m bot run`, long polling the fake API."""
    env = {**os.environ, "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url, "BOT_DB": db,
           "BOT_STAFF_IDS": f"telegram:{STAFF}", "BOT_OUTBOX_RATE": str(rate)}  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                stdout=out, stderr=out)  # fmt: skip


async def chatter(fake: FakeBotAPI, user: int, stop: asyncio.Event, out: list[float]) -> None:
    """One person asking, waiting for the answer, thinking, asking again."""
    rng = random.Random(user)
    answered = 0
    await asyncio.sleep(rng.uniform(*THINK_S))
    while not stop.is_set():
        before = time.perf_counter()
        fake.push_text(user, rng.choice(QUESTIONS))
        try:
            await fake.wait_reply(user, answered + 1, timeout=60)
        except TimeoutError:
            continue
        answered = fake.count(user)
        out.append((time.perf_counter() - before) * 1000)
        await asyncio.sleep(rng.uniform(*THINK_S))


async def run(name: str, recipients: int, rate: float, chatters: int, crash: bool) -> Run:
    """One broadcast from queue to the last recipient; kill the bot half way if `crash`."""
    rng = random.Random(7)
    ids = [str(n) for n in _recipient_ids(recipients)]
    blocked = set(rng.sample(ids, recipients // 100))
    fake = LimitedBotAPI(blocked)
    await fake.start()
    result = Run(name, recipients, len(blocked))
    with tempfile.TemporaryDirectory() as tmp:
        db, log = str(Path(tmp) / "bot.sqlite3"), Path(tmp) / "bot.log"
        await prepare(db, recipients)
        started = time.perf_counter()
        bot = start_bot(fake, db, rate, log)
        stop = asyncio.Event()
        talk = [asyncio.create_task(chatter(fake, FIRST_CHATTER + n, stop, result.latencies_ms))
                for n in range(chatters)]  # fmt: skip
        bot = await _drive(fake, ids, blocked, bot, crash, db, rate, log, result)
        result.seconds = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*talk, return_exceptions=True)
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
    await fake.stop()
    _tally(fake, ids, blocked, result)
    return result


async def _drive(
    fake: LimitedBotAPI, ids: list[str], blocked: set[str], bot: subprocess.Popen[bytes],
    crash: bool, db: str, rate: float, log: Path, result: Run,
) -> subprocess.Popen[bytes]:  # fmt: skip
    """Wait until every recipient got the message (or was blocked); kill once if asked."""
    wanted = len(ids) - len(blocked)
    first: float | None = None
    deadline = time.perf_counter() + len(ids) / rate * 2 + 120
    while time.perf_counter() < deadline:
        got = sum(1 for i in ids if fake.delivered[i])
        first = first or (time.perf_counter() if got else None)
        if crash and not result.crashes and got >= wanted // 2:
            bot.send_signal(signal.SIGKILL)  # no clean shutdown: rows left 'sending'
            bot.wait()
            result.crashes = 1
            bot = start_bot(fake, db, rate, log)
        if got >= wanted:
            break
        await asyncio.sleep(0.2)
    result.sending_s = time.perf_counter() - (first or time.perf_counter())
    return bot


def _tally(fake: LimitedBotAPI, ids: list[str], blocked: set[str], result: Run) -> None:
    counts = [fake.delivered[i] for i in ids if i not in blocked]
    result.delivered = sum(1 for c in counts if c)
    result.duplicates = sum(c - 1 for c in counts if c > 1)
    result.losses = sum(1 for c in counts if not c)
    result.too_many = dict(fake.too_many)


def report(result: Run, rate: float) -> None:
    """Print one run's figures."""
    sends = result.delivered + result.duplicates + result.blocked
    achieved = sends / result.sending_s if result.sending_s else 0.0
    ordered = sorted(result.latencies_ms) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"[{result.name}] {result.recipients} recipients ({result.blocked} blocked the bot), "
          f"{result.crashes} SIGKILL")  # fmt: skip
    print(f"  achieved {achieved:.1f} msg/s over {result.sending_s:.1f} s = "
          f"{achieved / rate:.3f} of the configured {rate:g}/s (restart gap included)")  # fmt: skip
    print(f"  429s: broadcast lane {result.too_many.get('broadcast', 0)}, "
          f"chat replies {result.too_many.get('chat', 0)}")  # fmt: skip
    print(f"  delivered {result.delivered}, duplicates {result.duplicates}, "
          f"losses {result.losses}")  # fmt: skip
    print(f"  chat replies while it ran: n={len(result.latencies_ms)} "
          f"p50 {statistics.median(ordered):.0f} ms p99 {p99:.0f} ms")  # fmt: skip


async def main() -> None:
    """Both runs, one after the other."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="BOT_OUTBOX_RATE")
    parser.add_argument("--chatters", type=int, default=20)
    parser.add_argument("--only", choices=("clean", "crash"))
    args = parser.parse_args()
    for name, crash in (("clean", False), ("crash", True)):
        if args.only in (None, name):
            result = await run(name, args.recipients, args.rate, args.chatters, crash)
            report(result, args.rate)


if __name__ == "__main__":
    asyncio.run(main())
