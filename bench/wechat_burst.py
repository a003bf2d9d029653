"""A burst at POST /wechat: 200 signed messages from 50 users at once, through the real bot.

Prints how many pushes were answered (once each), WeChat-style retries caught as
duplicates, p50/p99 latency from request to passive reply, and how many turns missed the
4.5-second window and fell back to the customer-service API (the fake API here).

    .venv/bin/python bench/wechat_burst.py [--users 50] [--messages 200] [--safe]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from bot.app import App, build_app  # noqa: E402
from bot.channels.wechat import Handle, WeChatChannel, WeChatConfig  # noqa: E402
from bot.channels.wechat_api import WeChatApi  # noqa: E402
from bot.config import Config  # noqa: E402
from tests.fake_telegram import free_port  # noqa: E402
from tests.fake_wechat import FakeWeChatAPI  # noqa: E402
from tests.wechat_reference import (  # noqa: E402
    APP_ID,
    ENCODING_AES_KEY,
    TOKEN,
    ref_encrypt,
    ref_sign,
    text_xml,
)

QUESTIONS = [
    "How do I get to Wuzhou Ancient City?",
    "义乌国际商贸城几点开门？",
    "Quels sont les horaires du site de Shangshan ?",
    "/tours",
    "any press trips next week?",
]
RETRIES = 20  # pushes WeChat "retries": they must be answered "success", not handled again


def real_handle(app: App) -> Handle:
    """The bot's turn entry point: the pipeline, which also drops WeChat's retries."""
    return app.handle


@asynccontextmanager
async def serve(channel: WeChatChannel) -> AsyncIterator[str]:
    """The channel's routes on a real uvicorn server on 127.0.0.1."""
    port = free_port()
    app = Starlette(routes=channel.routes())
    server = uvicorn.Server(uvicorn.Config(app, "127.0.0.1", port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def signed(xml: str, safe: bool) -> tuple[dict[str, str], bytes]:
    """Query and body as WeChat would send them."""
    ts, nonce = str(int(time.time())), "bench"
    query = {"timestamp": ts, "nonce": nonce, "signature": ref_sign(TOKEN, ts, nonce)}
    if not safe:
        return query, xml.encode()
    encrypted = ref_encrypt(xml)
    query |= {"encrypt_type": "aes", "msg_signature": ref_sign(TOKEN, ts, nonce, encrypted)}
    return query, f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()


async def push(http: httpx.AsyncClient, url: str, xml: str, safe: bool) -> tuple[float, str]:
    """One push: its latency and what came back ("xml", "success" or the status)."""
    query, body = signed(xml, safe)
    started = time.perf_counter()
    response = await http.post(f"{url}/wechat", params=query, content=body)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        return elapsed, str(response.status_code)
    return elapsed, "success" if response.text == "success" else "xml"


def messages(users: int, count: int) -> list[str]:
    """`count` text pushes spread over `users` openids, distinct MsgIds."""
    now = int(time.time())
    return [
        text_xml(f"o-bench-{i % users}", QUESTIONS[i % len(QUESTIONS)], 10_000 + i, now)
        for i in range(count)
    ]


async def run(users: int, count: int, safe: bool) -> None:
    """Fire the burst and print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        app = await build_app(Config(db_path=str(Path(tmp) / "bench.sqlite3")))
        fake = FakeWeChatAPI()
        await fake.start()
        api = WeChatApi(fake.app_id, fake.secret, base_url=fake.url)
        config = WeChatConfig(TOKEN, APP_ID, ENCODING_AES_KEY if safe else None)
        channel = WeChatChannel(config, api, real_handle(app))
        pushes = messages(users, count)
        limits = httpx.Limits(max_connections=count)
        async with serve(channel) as url, httpx.AsyncClient(timeout=30, limits=limits) as http:
            await push(http, url, text_xml("o-warm", "hello", 1, int(time.time())), safe)
            results = await asyncio.gather(*(push(http, url, x, safe) for x in pushes))
            retried = await asyncio.gather(*(push(http, url, x, safe) for x in pushes[:RETRIES]))
            await channel.drain()
        report(results, retried, channel, fake, count)
        await api.close()
        await fake.stop()
        await app.close()


def report(
    results: list[tuple[float, str]],
    retried: list[tuple[float, str]],
    channel: WeChatChannel,
    fake: FakeWeChatAPI,
    count: int,
) -> None:
    """Print the figures."""
    latencies = sorted(elapsed for elapsed, _ in results)
    kinds = [kind for _, kind in results]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    stats = channel.stats
    print(f"pushes: {count}, answered with a passive reply: {kinds.count('xml')}, "
          f"'success' (fell back): {kinds.count('success')}, errors: "
          f"{len(kinds) - kinds.count('xml') - kinds.count('success')}")  # fmt: skip
    turns = stats.passive + stats.fell_back - 1  # less the warm-up push
    print(f"turns run: {turns} (once each: {turns == count})")
    caught = sum(kind == "success" for _, kind in retried)
    print(f"retries answered 'success' without a turn: {caught}/{RETRIES}, "
          f"silent: {stats.silent}")  # fmt: skip
    print(f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"fell back to the customer-service API: {stats.fell_back}; "
          f"continuation or late messages sent there: {len(fake.messages)}")  # fmt: skip


def main() -> None:
    """Parse arguments and run the burst."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--safe", action="store_true", help="safe mode (AES) pushes")
    args = parser.parse_args()
    asyncio.run(run(args.users, args.messages, args.safe))


if __name__ == "__main__":
    main()
