"""Fault figures: start-up failures, long inputs, hostile webhook payloads, two bot
processes on one database, and kill -9 in the middle of an RSVP burst.

    python bench/faults.py [--payloads 1000] [--reporters N] [--seed 13]
                           [--only startup|inputs|webhook|two-bots|kill9]

Prints figures; asserts nothing. Bounded (under 10 minutes with the defaults; kill9 waits
for the confirmation backups, up to BACKUP_DELAY_S after the kill); traffic stays on
127.0.0.1 and every bot process started is stopped at the end, also on failure.
Expected: every start-up fault exits 2 within 5 s with one stderr line; 0 webhook 500s;
two bots and kill -9: 0 apologies, 0 overbooked, 0 lost, 0 booked but never told.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import logging
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import yaml  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.channels import serve  # noqa: E402
from bot.channels.web import SECRET_HEADER  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core.types import Channel, Incoming  # noqa: E402
from bot.features.rsvp import BACKUP_DELAY_S  # noqa: E402
from bot.i18n import LANGUAGES, translator  # noqa: E402
from bot.knowledge.loader import TOPIC_FOLDERS  # noqa: E402
from tests.fake_telegram import FakeBotAPI, free_port  # noqa: E402

CLOSED_PORT_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
START_TIMEOUT_S = 15.0
INPUT_TIMEOUT_S = 30.0
INPUT_MEMORY_LIMIT = 4 * 2**30  # a runaway case fails with MemoryError, not the machine
SECRET = "bench-Secret_1"
TOKEN = "123456:BENCH-token"
PARTS = ("reload", "startup", "inputs", "dispatcher", "webhook", "two-bots", "kill9")
WORDS = "Shangshan Wuzhou 义乌 market hours getting there Lizu опера horaires 上山".split()


# start-up faults --------------------------------------------------------------------


def run_bot(*args: str, **env: str) -> tuple[int | str, float, str]:
    """`python -m bot ARGS`: exit code (or "hung"), seconds, last stderr line."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    clean |= {"PORT": str(free_port()), **env}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=ROOT, env=clean, capture_output=True,
            stdin=subprocess.DEVNULL, text=True, timeout=START_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "hung", time.perf_counter() - started, ""
    lines = done.stderr.strip().splitlines() or [""]
    return done.returncode, time.perf_counter() - started, f"{lines[-1]} ({len(lines)} lines)"


@contextmanager
def read_only(path: Path) -> Iterator[bool]:
    """The path read-only for this process (root: the immutable flag); False if impossible."""
    path.chmod(0o555 if path.is_dir() else 0o444)
    immutable = os.geteuid() == 0 and shutil.which("chattr") is not None
    if immutable:
        immutable = subprocess.run(["chattr", "+i", str(path)], check=False).returncode == 0
    try:
        yield os.geteuid() != 0 or immutable
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(0o755)


def database_cases(folder: Path) -> Iterator[tuple[str, dict[str, str], Path | None]]:
    """(name, environment, path to make read-only) for each database fault."""
    good = folder / "good.sqlite3"
    run_bot("run", BOT_DB=str(good))  # the console chat creates it and ends at EOF
    corrupt, short, locked = folder / "corrupt.sqlite3", folder / "short.sqlite3", folder / "ro"
    corrupt.write_bytes(random.Random(1).randbytes(3000))
    short.write_bytes(good.read_bytes()[:5000])
    locked.mkdir()
    yield "corrupt file", {"BOT_DB": str(corrupt)}, None
    yield "truncated file", {"BOT_DB": str(short)}, None
    yield "read-only file", {"BOT_DB": str(good)}, good
    yield "read-only folder", {"BOT_DB": str(locked / "bot.sqlite3")}, locked


def start_up_faults() -> None:
    """Exit code and seconds for database and Bot API faults at start-up."""
    print("start-up faults (python -m bot run): exit code, seconds, stderr")
    with tempfile.TemporaryDirectory() as name:
        for case, env, lock in database_cases(Path(name)):
            with read_only(lock) if lock else _no_lock() as possible:
                figures = run_bot("run", **env) if possible else ("skipped", 0.0, "")
            _print_case(case, figures)
        api = {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_API_URL": CLOSED_PORT_URL}
        api |= {"TELEGRAM_WEBHOOK_SECRET": SECRET, "BOT_DB": f"{name}/api.sqlite3"}
        _print_case("Bot API unreachable, polling", run_bot("run", **api))
        _print_case("Bot API unreachable, webhook", run_bot("run", "--webhook", **api))


@contextmanager
def _no_lock() -> Iterator[bool]:
    """Nothing to make read-only."""
    yield True


def _print_case(case: str, figures: tuple[int | str, float, str]) -> None:
    """One start-up figure line."""
    code, seconds, line = figures
    print(f"  {case:30} exit {code!s:7} {seconds:5.2f} s   {line[:110]}")


# long inputs ------------------------------------------------------------------------


def long_text(kind: str, size: int) -> str:
    """`size` characters: one word repeated without spaces, or mixed words."""
    if kind == "one word":
        return ("shangshan" * (size // 9 + 1))[:size]
    rng = random.Random(size)
    return " ".join(rng.choice(WORDS) for _ in range(size))[:size]


async def answer_once(kind: str, size: int) -> dict[str, float]:
    """Seconds and peak RSS growth (MiB) of one answer, in this process."""
    app = await build_app(Config(db_path=":memory:"))
    text = long_text(kind, size)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    await app.handle(Incoming(Channel.BATCH, "bench", "bench", text))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await app.close()
    return {"seconds": seconds, "mib": (peak - base) / 1024}


def long_inputs() -> None:
    """Each size and kind in a child process, bounded in time and memory."""
    print(f"long inputs through the answer path (each bounded to {INPUT_TIMEOUT_S:.0f} s, 4 GiB)")
    for kind in ("one word", "mixed words"):
        for size in (1_000, 10_000, 100_000):
            print(f"  {size:>7,} chars, {kind:11}  {_child_answer(kind, size)}", flush=True)


def _child_answer(kind: str, size: int) -> str:
    """Run answer_once in a child; its figures, or why there are none."""
    command = [sys.executable, __file__, "--one-input", kind, str(size)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INPUT_TIMEOUT_S, check=False,
            preexec_fn=_limit_memory,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"over {INPUT_TIMEOUT_S:.0f} s (stopped)"
    if done.returncode != 0:
        return f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1][:80]}"
    figures = json.loads(done.stdout)
    return f"{figures['seconds']:8.3f} s   peak +{figures['mib']:7.1f} MiB RSS"


def _limit_memory() -> None:
    """Cap the child's address space."""
    resource.setrlimit(resource.RLIMIT_AS, (INPUT_MEMORY_LIMIT, INPUT_MEMORY_LIMIT))


# hostile webhook payloads -----------------------------------------------------------


def valid_update(rng: random.Random) -> dict[str, Any]:
    """A plausible Telegram message update."""
    user = rng.randint(1, 10**9)
    return {
        "update_id": rng.randint(1, 2**40),
        "message": {
            "message_id": rng.randint(1, 10**6), "date": 1_700_000_000, "text": "Shangshan",
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "R", "language_code": "en"},
        },
    }  # fmt: skip


def odd_value(rng: random.Random) -> Any:
    """A value of the wrong type or an absurd size."""
    choices: list[Any] = [None, "hello", 10**30, -(10**20), 1e308, [], {}, [1, [2]], True, "\ud800"]
    return rng.choice(choices)


def mutated(rng: random.Random) -> dict[str, Any]:
    """A valid update with one to three fields replaced by odd values."""
    update = valid_update(rng)
    targets = [update, update["message"], update["message"]["from"]]
    for _ in range(rng.randint(1, 3)):
        target = rng.choice(targets)
        target[rng.choice(list(target))] = odd_value(rng)
    return update


def hostile_body(rng: random.Random) -> bytes:
    """One generated payload: mutated updates mostly, and the classic attacks."""
    depth = rng.randint(100, 100_000)
    makers: list[Callable[[], bytes]] = [
        lambda: _dumps(mutated(rng)),
        lambda: _dumps(mutated(rng)),
        lambda: _dumps(mutated(rng)),
        lambda: b"[" * depth + b"]" * depth,
        lambda: _dumps(odd_value(rng)),
        lambda: rng.randbytes(rng.randint(0, 200)),
        lambda: _dumps({"update_id": 1, "message": "hello"}),
        lambda: _dumps(valid_update(rng)),
    ]
    return rng.choice(makers)()


def _dumps(value: Any) -> bytes:
    """JSON bytes, lone surrogates escaped as JSON allows."""
    return json.dumps(value).encode()


async def webhook_payloads(count: int) -> Counter[int]:
    """Status codes of `count` generated payloads posted to the real web app."""
    fake = FakeBotAPI()
    await fake.start()
    with tempfile.TemporaryDirectory() as folder:
        config = Config(
            db_path=f"{folder}/bot.sqlite3", telegram_token=TOKEN,
            telegram_api_url=fake.url, webhook_secret=SECRET,
        )  # fmt: skip
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(await serve.web_app(config), "127.0.0.1", port, log_level="critical")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        statuses = await _post_all(f"http://127.0.0.1:{port}/telegram", count)
        server.should_exit = True
        await task
    await fake.stop()
    return statuses


async def _post_all(url: str, count: int) -> Counter[int]:
    """Post the payloads one after another; count the answers."""
    rng = random.Random(13)
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(headers={SECRET_HEADER: SECRET}, timeout=10) as client:
        for _ in range(count):
            statuses[(await client.post(url, content=hostile_body(rng))).status_code] += 1
    return statuses


# broken knowledge at /reload --------------------------------------------------------


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)
BREAKERS: dict[str, Callable[[Path], object]] = {
    "route without travel times": lambda kb: (kb / "routes" / "new-site.yaml").write_text(
        (kb / "routes" / "shangshan-site.yaml").read_text().replace("shangshan-site", "new-site")
        .replace("- Shangshan\n", "- Brand New Site\n").replace("Shangshan", "Newsite")),
    "travel.yaml not YAML": lambda kb: (kb / "travel.yaml").write_text("minutes: [oops\n"),
    "tour stops at removed route": lambda kb: (kb / "routes" / "nev-town.yaml").unlink(),
    "every topic folder deleted": lambda kb: [shutil.rmtree(kb / f) for f in TOPIC_FOLDERS],
    "facets.yaml unknown facet": lambda kb: (kb / "facets.yaml").write_text("colour: {}\n"),
    "recursive alias": lambda kb: (kb / "intents.yaml").write_text("plan: &a [*a]\n"),
    "billion laughs (492 B)": lambda kb: (kb / "faq" / "laughs.yaml").write_text(LAUGHS),
    "50 MB file": lambda kb: (kb / "faq" / "huge.yaml").write_text("# padding\n" * 5_000_000),
    "good edit: tour capacity": lambda kb: (kb / "tours.yaml").write_text(
        (kb / "tours.yaml").read_text().replace("capacity: 30", "capacity: 31", 1)),
}  # fmt: skip


def broken_reloads() -> None:
    """Seconds, peak traced memory and the longest event-loop stall of each staff /reload."""
    print("staff /reload of broken knowledge (target: under 2 s and 200 MB each)")
    for case, breaker in BREAKERS.items():
        print(f"  {case:28} {asyncio.run(_reload_once(breaker))}", flush=True)


async def _reload_once(breaker: Callable[[Path], object]) -> str:
    """Break a copy of knowledge/, /reload it as staff while a ticker watches the loop."""
    import tracemalloc

    with tempfile.TemporaryDirectory() as name:
        kb = Path(name) / "knowledge"
        shutil.copytree(ROOT / "knowledge", kb)
        config = Config(knowledge_dir=kb, db_path=":memory:", staff_ids=frozenset({"console:s"}))
        app = await build_app(config)
        breaker(kb)
        stalls: list[float] = []
        ticker = asyncio.create_task(_tick(stalls))
        tracemalloc.start()
        started = time.perf_counter()
        replies = await app.handle(Incoming(Channel.CONSOLE, "s", "s", "/reload"))
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        ticker.cancel()
        await app.close()
    last = replies[-1].text.splitlines()[-1][:60]
    stall = max(stalls, default=0) * 1000
    return f"{seconds:6.3f} s  peak {peak:6.1f} MiB  loop stall {stall:5.0f} ms  {last}"


async def _tick(stalls: list[float]) -> None:
    """Sleep 10 ms again and again; record how much later than asked each wake-up came."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append(time.perf_counter() - before - 0.01)


# bot processes on one database, and kill -9 mid-burst --------------------------------

BOT_TOKEN = "1:BENCH"
TOUR = "jinhua-heritage-and-industry"
RSVP_STEPS: list[tuple[str, str]] = [
    ("text", "/tours"), ("press", f"rsvp:v1:{TOUR}:join"), ("text", "Reporter"),
    ("text", "Outlet"), ("text", "camera"), ("press", f"rsvp:v1:{TOUR}:skip"),
    ("text", "no interpreter"), ("press", f"rsvp:v1:{TOUR}:consent"),
]  # fmt: skip
CONSENT = RSVP_STEPS[-1]
FIRST_CHAT = 500_000
BOOT_TIMEOUT_S = 60.0  # a bot process polls within this (loading the knowledge included)
STEP_DEADLINE_S = 240.0  # a step with no answer this long after it was sent is unanswered
# After a restart, the new process first answers the updates the dead one left unread;
# a reporter whose step is still unanswered this long after the restart sends it again.
RESEND_GRACE_S = 20.0
# The outbox worker needs a little while after a backup falls due (it polls each second,
# paced at 25 messages a second).
OUTBOX_MARGIN_S = 60.0


def apology_texts() -> set[str]:
    """The apology in every language the bot speaks."""
    english = "Sorry, something went wrong on my side. Please try again."
    return {translator(lang).gettext(english) for lang in LANGUAGES}


def tour_capacity() -> int:
    """The bench tour's seats, as knowledge/tours.yaml declares them."""
    data = yaml.safe_load((ROOT / "knowledge" / "tours.yaml").read_text(encoding="utf-8"))
    return int(next(t["capacity"] for t in data["tours"] if t["id"] == TOUR))


class BotProcess:
    """One `python -m bot run` polling its own fake Bot API; stderr kept in a file."""

    def __init__(self, api_url: str, db: Path, log: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
        self.env |= {"TELEGRAM_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": api_url,
                     "BOT_DB": str(db), "BOT_BOOK_SAMPLES": "1"}  # fmt: skip
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the bot; it appends its JSON log lines to self.log."""
        with self.log.open("ab") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL at once: no shutdown code runs, nothing is flushed or acknowledged."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within 10 s."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def wait_polling(fake: FakeBotAPI, starts_before: int) -> float:
    """Seconds until a bot (re)starts polling this fake: PTB deletes any webhook first."""
    started = time.perf_counter()
    await fake.wait_for(lambda: len(fake.sent("deleteWebhook")) > starts_before, BOOT_TIMEOUT_S)
    return time.perf_counter() - started


def log_figures(logs: list[Path]) -> Counter[str]:
    """Log lines by level, each warning and error, and the duplicate updates ignored."""
    counts: Counter[str] = Counter()
    for path in logs:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                counts["non-JSON"] += 1  # a traceback outside the logger, say
                continue
            counts[str(entry.get("level"))] += 1
            if entry.get("level") in ("warning", "error", "critical"):
                counts[f"{entry['level']}: {entry.get('logger')}: {entry.get('msg')}"[:100]] += 1
            counts["duplicates ignored"] += "duplicate" in str(entry.get("msg"))
    return counts


class Burst:
    """Reporters going through the RSVP form on some fakes; what happened to them."""

    def __init__(self, fakes: list[FakeBotAPI], reporters: int) -> None:
        self.fakes = fakes
        self.reporters = reporters
        # Called with the count each time a consent press is answered.
        self.on_consent_answered: Callable[[int], None] = lambda answered: None
        self.consented: set[int] = set()  # chats that pressed "Yes, book me"
        self.consents_answered = 0
        self.started: float | None = None
        self.restarted_at: float | None = None
        self.resends = 0
        self.unanswered = 0

    def fake_of(self, number: int) -> FakeBotAPI:
        """Reporters alternate between the fakes (so between the bot processes)."""
        return self.fakes[number % len(self.fakes)]

    async def reporter(self, number: int) -> None:
        """One reporter's eight steps; one unanswered step ends the reporter's attempt."""
        fake, chat = self.fake_of(number), FIRST_CHAT + number
        for step in RSVP_STEPS:
            if step == CONSENT:
                self.consented.add(chat)
            if not await self._answered(fake, chat, step):
                self.unanswered += 1
                return
            if step == CONSENT:
                self.consents_answered += 1
                self.on_consent_answered(self.consents_answered)

    async def _answered(self, fake: FakeBotAPI, chat: int, step: tuple[str, str]) -> bool:
        """Send the step and wait for its answer; send it again once after a restart."""
        expected, pushed_at = fake.count(chat) + 1, time.perf_counter()
        _push(fake, chat, step)
        while time.perf_counter() - pushed_at < STEP_DEADLINE_S:
            with contextlib.suppress(TimeoutError):
                await fake.wait_reply(chat, expected, timeout=1.0)
                return True
            if self._should_resend(pushed_at):
                expected, pushed_at = fake.count(chat) + 1, time.perf_counter()
                _push(fake, chat, step)
                self.resends += 1
        return False

    def _should_resend(self, pushed_at: float) -> bool:
        """Sent before the restart, and the restarted bot had time for its backlog."""
        restarted = self.restarted_at
        return restarted is not None and pushed_at < restarted < time.perf_counter() - (
            RESEND_GRACE_S
        )

    async def run(self) -> float:
        """Every reporter at once; seconds until the last one is done."""
        self.started = time.perf_counter()
        await asyncio.gather(*(self.reporter(n) for n in range(self.reporters)))
        return time.perf_counter() - self.started

    def texts(self) -> dict[int, list[str]]:
        """Every message text each reporter's chat received, over all fakes."""
        texts: dict[int, list[str]] = {}
        for fake in self.fakes:
            for call in fake.sent("sendMessage"):
                texts.setdefault(int(call.params["chat_id"]), []).append(call.params["text"])
        return texts

    def apologies(self) -> int:
        """Messages that were an apology, in any language."""
        sorry = apology_texts()
        return sum(html.unescape(t) in sorry for texts in self.texts().values() for t in texts)


def _push(fake: FakeBotAPI, chat: int, step: tuple[str, str]) -> None:
    kind, value = step
    if kind == "text":
        fake.push_text(chat, value, lang="en")
    else:
        fake.push_callback(chat, value, lang="en")


def read_bookings(db: Path) -> list[sqlite3.Row]:
    """The bench tour's bookings, straight from the SQLite file."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.row_factory = sqlite3.Row
        query = "SELECT chat_id, status, code FROM bookings WHERE tour_id = ?"
        return connection.execute(query, (TOUR,)).fetchall()


def backups(db: Path) -> Counter[str]:
    """The confirmations' outbox copies: still queued, settled by the reply, or sent."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT status, reason FROM outbox WHERE kind = 'confirmation'"
        ).fetchall()
    counts: Counter[str] = Counter()
    for status, reason in rows:
        settled = status == "sent" and reason == "delivered as a reply"
        counts[
            "queued" if status in ("pending", "sending") else "settled" if settled else status
        ] += 1
    return counts


@asynccontextmanager
async def fake_apis(count: int) -> AsyncIterator[list[FakeBotAPI]]:
    """`count` fake Bot API servers on 127.0.0.1, stopped at the end. They stand for one
    bot's updates shared out between processes, so their update ids never collide."""
    fakes = [FakeBotAPI(first_update_id=1 + n * 10**7) for n in range(count)]
    try:
        for fake in fakes:
            await fake.start()
        yield fakes
    finally:
        for fake in fakes:
            with contextlib.suppress(Exception):
                await fake.stop()


async def two_bots(reporters: int) -> None:
    """Two polling bot processes on one SQLite file, half the reporters on each."""
    print(f"two bot processes on one database: {reporters} reporters x 8 RSVP steps")
    with tempfile.TemporaryDirectory() as folder:
        db, logs = Path(folder) / "shared.sqlite3", [Path(folder) / f"bot{n}.log" for n in (1, 2)]
        async with fake_apis(2) as fakes:
            bots = [BotProcess(f.url, db, log) for f, log in zip(fakes, logs, strict=True)]
            try:
                for bot in bots:  # one after the other: both would create the schema
                    await bot.start()
                    await wait_polling(fakes[bots.index(bot)], 0)
                burst = Burst(fakes, reporters)
                seconds = await burst.run()
            finally:
                for bot in bots:
                    await bot.stop()
            _print_two_bots(burst, seconds, read_bookings(db), log_figures(logs))


def _print_two_bots(
    burst: Burst, seconds: float, bookings: list[sqlite3.Row], logs: Counter[str]
) -> None:
    confirmed = sum(b["status"] == "confirmed" for b in bookings)
    capacity = tour_capacity()
    print(f"  apologies received      {burst.apologies()}")
    print(f"  bookings {len(bookings)}: confirmed {confirmed} of {capacity} seats, "
          f"overbooked {max(0, confirmed - capacity)}")  # fmt: skip
    print(f"  unanswered steps        {burst.unanswered}")
    print(f"  bot log lines           error {logs['error']}, warning {logs['warning']}, "
          f"critical {logs['critical']}, non-JSON {logs['non-JSON']}")  # fmt: skip
    _print_log_lines(logs)
    rate = burst.reporters / seconds
    print(f"  {seconds:.1f} s: {rate:.1f} complete RSVPs/s, {rate * 8:.0f} updates/s")


async def kill_mid_burst(reporters: int, seed: int) -> None:
    """One bot, SIGKILLed during the consent presses, restarted on the same file and API."""
    rng = random.Random(seed)
    kill_at = rng.randint(reporters * 2 // 5, reporters * 3 // 5) or 1
    # The fake's server logs each upload the killed bot broke off; that is expected here.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    print(f"kill -9 mid-burst: {reporters} reporters x 8 RSVP steps, SIGKILL once "
          f"{kill_at} consents were answered, restart; unanswered steps sent again")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        db, log = Path(folder) / "bot.sqlite3", Path(folder) / "bot.log"
        async with fake_apis(1) as (fake,):
            bot = BotProcess(fake.url, db, log)
            try:
                await bot.start()
                await wait_polling(fake, 0)
                burst = Burst([fake], reporters)
                figures = await _burst_with_kill(burst, bot, kill_at)
                figures["told wait s"] = await _wait_until_told(burst, db, figures["killed at"])
            finally:
                await bot.stop()
            _print_kill(burst, figures, db, log_figures([log]))


async def _burst_with_kill(burst: Burst, bot: BotProcess, kill_at: int) -> dict[str, float]:
    """Run the burst; once kill_at consents were answered (more are being booked at that
    moment: every reporter presses consent as soon as asked), SIGKILL and restart the bot."""
    figures: dict[str, float] = {}
    restarted = asyncio.Event()

    def on_consent_answered(answered: int) -> None:
        if answered == kill_at:
            bot.kill()
            figures["killed at"] = time.perf_counter()
            figures["consents pressed"] = len(burst.consented)
            restarted.set()

    async def restart() -> None:
        await restarted.wait()
        assert bot.process is not None
        await bot.process.wait()
        await bot.start()
        figures["down s"] = await wait_polling(burst.fakes[0], 1)
        burst.restarted_at = time.perf_counter()

    burst.on_consent_answered = on_consent_answered
    restarter = asyncio.create_task(restart())
    figures["burst s"] = await burst.run()
    await restarter
    return figures


async def _wait_until_told(burst: Burst, db: Path, killed_at: float) -> float:
    """Wait until every booked reporter was told, or the last backup is surely out."""
    started = time.perf_counter()
    deadline = killed_at + BACKUP_DELAY_S + OUTBOX_MARGIN_S
    while time.perf_counter() < deadline and (
        _never_told(burst, read_bookings(db)) or backups(db)["queued"]
    ):
        await asyncio.sleep(1.0)
    return time.perf_counter() - started


def times_told(burst: Burst, bookings: list[sqlite3.Row]) -> list[int]:
    """For each booking, how many messages to its chat stated it: the check-in code when
    confirmed, the waitlist sentence when waitlisted (the reporters write in English)."""
    texts = burst.texts()
    waitlisted = translator("en").gettext(
        "You are on the waitlist, number %(position)d. We will tell you if a seat frees up."
    )
    markers = {"waitlisted": waitlisted.split("%(position)d")[0]}
    return [
        sum(markers.get(b["status"], str(b["code"])) in t for t in texts.get(int(b["chat_id"]), []))
        for b in bookings
    ]  # fmt: skip


def _never_told(burst: Burst, bookings: list[sqlite3.Row]) -> int:
    """Bookings whose reporter was never told of them."""
    return sum(n == 0 for n in times_told(burst, bookings))


def _lost(burst: Burst, bookings: list[sqlite3.Row]) -> int:
    """Reporters who pressed consent, have no booking and were not told it was closed."""
    booked = {int(b["chat_id"]) for b in bookings}
    closed = translator("en").gettext("RSVPs for this tour are closed.")
    texts = burst.texts()
    return sum(
        c not in booked and not any(closed in t for t in texts.get(c, [])) for c in burst.consented
    )


def _print_kill(burst: Burst, figures: dict[str, float], db: Path, logs: Counter[str]) -> None:
    bookings = read_bookings(db)
    confirmed = sum(b["status"] == "confirmed" for b in bookings)
    capacity, never_told = tour_capacity(), _never_told(burst, bookings)
    print(f"  killed {figures['killed at'] - (burst.started or 0):.1f} s into the burst; "
          f"with {figures['consents pressed']:.0f} consents pressed; polling again "
          f"{figures.get('down s', 0):.1f} s later")  # fmt: skip
    print(f"  reporters who pressed consent {len(burst.consented)}, steps sent again "
          f"{burst.resends}, unanswered steps {burst.unanswered}")  # fmt: skip
    print(f"  bookings {len(bookings)}: confirmed {confirmed} of {capacity} seats, "
          f"overbooked {max(0, confirmed - capacity)}")  # fmt: skip
    print(f"  lost (pressed consent, no booking, not told closed)   {_lost(burst, bookings)}")
    print(f"  booked but never told (waited {figures['told wait s']:.0f} s after the burst)   "
          f"{never_told}")  # fmt: skip
    twice = sum(n > 1 for n in times_told(burst, bookings))
    print(f"  told their booking twice or more (a backup after a reply)   {twice}")
    copies = backups(db)
    print(f"  confirmation backups: settled by the reply {copies['settled']}, sent by the "
          f"outbox {copies['sent']}, still queued {copies['queued']}")  # fmt: skip
    print(f"  apologies received      {burst.apologies()}")
    print(f"  bot log lines           error {logs['error']}, warning {logs['warning']}, "
          f"non-JSON {logs['non-JSON']}, duplicate updates ignored "
          f"{logs['duplicates ignored']}")  # fmt: skip
    _print_log_lines(logs)


def _print_log_lines(logs: Counter[str]) -> None:
    """Each distinct warning or error the bots logged, with how often."""
    for line, count in logs.most_common():
        if line.startswith(("warning:", "error:", "critical:")):
            print(f"    {count:4} x {line}")


# main -------------------------------------------------------------------------------


def hostile_dispatcher(count: int = 10_000, seed: int = 7) -> None:
    """Generated hostile text and forged presses through the whole bot (App.handle)."""
    print(f"dispatcher, {count:,} generated hostile inputs (text, forged presses, numbers)")
    rng = random.Random(seed)
    inputs = [_hostile_input(rng) for _ in range(count)]
    figures = asyncio.run(_through_the_bot(inputs))
    print("  " + ", ".join(f"{k} {v}" for k, v in figures.items()))


def _hostile_input(rng: random.Random) -> tuple[str, str | None]:
    """One generated message: random characters, a forged press, a number or a named case."""
    kind = rng.randrange(4)
    if kind == 0:
        size = rng.choice([1, 5, 40, 300, 3000])
        return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(size)), None
    if kind == 1:
        args = [str(rng.randrange(10 ** rng.randrange(1, 30))) for _ in range(rng.randrange(4))]
        kind_name = rng.choice(["plan", "rsvp", "topic", "menu", "lang", "bcast", "zz"])
        return "", ":".join([kind_name, "v1", *args])
    if kind == 2:
        return rng.choice(["²", "①", "٣", "9" * 4301, "/language EN", "/checkin", "１２"]), None
    return str(rng.randrange(-10, 10**6)), None


async def _through_the_bot(inputs: list[tuple[str, str | None]]) -> dict[str, object]:
    """Answer every input as a fresh person every 10 messages; count what went wrong."""
    apologies = {translator(lang).gettext("Sorry, something went wrong on my side. Please "
                                          "try again.") for lang in LANGUAGES}  # fmt: skip
    counts = {"unhandled": 0, "apologies": 0, "empty": 0}
    times: list[float] = []
    with tempfile.TemporaryDirectory() as name:
        app = await build_app(Config(db_path=f"{name}/hostile.db"))
        for number, (text, payload) in enumerate(inputs):
            user = f"h{number // 10}"  # ten messages each: the flood guard stays out of it
            started = time.perf_counter()
            try:
                replies = await app.handle(Incoming(Channel.CONSOLE, user, user, text, payload))
            except Exception:
                counts["unhandled"] += 1
                continue
            times.append(time.perf_counter() - started)
            counts["empty"] += not replies or any(not r.text.strip() for r in replies)
            counts["apologies"] += any(r.text in apologies for r in replies)
        await app.close()
    times.sort()
    p50, p99 = (times[int(len(times) * q)] * 1000 for q in (0.5, 0.99))
    return {**counts, "p50 ms": round(p50, 1), "p99 ms": round(p99, 1)}


def webhook_figures(payloads: int) -> None:
    """Status codes of the hostile payloads; 500s are the figure that matters."""
    logging.getLogger("bot.channels.web").setLevel(logging.ERROR)  # one line per refusal
    statuses = asyncio.run(webhook_payloads(payloads))
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"webhook, {payloads:,} generated hostile payloads: {codes}")
    print(f"  500s: {statuses.get(500, 0)} (expected 0)")


def parts(args: argparse.Namespace) -> dict[str, Callable[[], None]]:
    """Every part of the bench by name, in the order they run."""
    return {
        "reload": broken_reloads,
        "startup": start_up_faults,
        "inputs": long_inputs,
        "dispatcher": hostile_dispatcher,
        "webhook": lambda: webhook_figures(args.payloads),
        "two-bots": lambda: asyncio.run(two_bots(args.reporters or 250)),
        "kill9": lambda: asyncio.run(kill_mid_burst(args.reporters or 300, args.seed)),
    }


def main() -> None:
    """Print every figure (or one part's), or one long-input figure as JSON for the parent."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payloads", type=int, default=1000)
    parser.add_argument("--reporters", type=int, help="two-bots: 250, kill9: 300")
    parser.add_argument("--seed", type=int, default=13, help="picks the moment of the kill")
    parser.add_argument("--only", choices=PARTS, help="run one part")
    parser.add_argument("--one-input", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_input:
        kind, size = args.one_input
        print(json.dumps(asyncio.run(answer_once(kind, int(size)))))
        return
    started = time.perf_counter()
    for name, run in parts(args).items():
        if args.only in (None, name):
            run()
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
