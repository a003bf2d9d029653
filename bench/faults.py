"""Fault figures: start-up failures, long inputs, hostile webhook payloads.

    python bench/faults.py [--payloads 1000]

Prints figures; asserts nothing. Bounded (under 2 minutes); traffic stays on 127.0.0.1.
Expected: every start-up fault exits 2 within 5 s with one stderr line; 0 webhook 500s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.channels import serve  # noqa: E402
from bot.channels.web import SECRET_HEADER  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core.types import Channel, Incoming  # noqa: E402
from bot.knowledge.loader import TOPIC_FOLDERS  # noqa: E402
from tests.fake_telegram import FakeBotAPI, free_port  # noqa: E402

CLOSED_PORT_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
START_TIMEOUT_S = 15.0
INPUT_TIMEOUT_S = 30.0
INPUT_MEMORY_LIMIT = 4 * 2**30  # a runaway case fails with MemoryError, not the machine
SECRET = "bench-Secret_1"
TOKEN = "123456:BENCH-token"
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


# main -------------------------------------------------------------------------------


def main() -> None:
    """Print every figure, or one long-input figure as JSON for the parent process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payloads", type=int, default=1000)
    parser.add_argument("--reloads-only", action="store_true", help="only the /reload figures")
    parser.add_argument("--one-input", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_input:
        kind, size = args.one_input
        print(json.dumps(asyncio.run(answer_once(kind, int(size)))))
        return
    started = time.perf_counter()
    broken_reloads()
    if args.reloads_only:
        return
    start_up_faults()
    long_inputs()
    logging.getLogger("bot.channels.web").setLevel(logging.ERROR)  # one line per refusal
    statuses = asyncio.run(webhook_payloads(args.payloads))
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"webhook, {args.payloads:,} generated hostile payloads: {codes}")
    print(f"  500s: {statuses.get(500, 0)} (expected 0)")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
