"""A burst at POST /wechat: 200 signed messages from 50 users at once, through the real bot.

Prints how many pushes were answered (once each), WeChat-style retries answered "success"
without a second turn, p50/p99 latency from request to passive reply, and how many turns
missed the 4.5-second window and fell back to the customer-service API (the fake API here).

The load generator runs in a process of its own: sharing the server's event loop, the
client's 200 connections cost more than the 200 turns themselves (each about 1 ms) and
the figures measured the client (p99 about 2 s that way, on 2 cores).

    .venv/bin/python bench/wechat_burst.py [--users 50] [--messages 200] [--safe]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
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


async def push(url: str, xml: str, safe: bool) -> tuple[float, str]:
    """One push over a connection of its own, as raw HTTP/1.1 (a client as light as wrk,
    so the figures are the server's): its latency and what came back ("xml", "success"
    or the status)."""
    query, body = signed(xml, safe)
    target = httpx.URL(f"{url}/wechat", params=query)
    head = (f"POST {target.raw_path.decode()} HTTP/1.1\r\nHost: {target.host}\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")  # fmt: skip
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(target.host, target.port)
    writer.write(head.encode() + body)
    response = await reader.read()
    elapsed = time.perf_counter() - started
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    status = status_line.split()[1].decode() if status_line else "no answer"
    if status != "200":
        return elapsed, status
    return elapsed, "success" if rest.endswith(b"\r\n\r\nsuccess") else "xml"


def messages(users: int, count: int) -> list[str]:
    """`count` text pushes spread over `users` openids, distinct MsgIds."""
    now = int(time.time())
    return [
        text_xml(f"o-bench-{i % users}", QUESTIONS[i % len(QUESTIONS)], 10_000 + i, now)
        for i in range(count)
    ]


async def fire(url: str, pushes: list[str], safe: bool) -> list[tuple[float, str]]:
    """Every push at once, on connections of their own."""
    return list(await asyncio.gather(*(push(url, x, safe) for x in pushes)))


def fire_in_process(url: str, pushes: list[str], safe: bool) -> list[tuple[float, str]]:
    """The load generator's process: its own event loop."""
    return asyncio.run(fire(url, pushes, safe))


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
        loop = asyncio.get_running_loop()
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as client:
            async with serve(channel) as url:
                warm = [text_xml("o-warm", "hello", 1, int(time.time()))]
                await loop.run_in_executor(client, fire_in_process, url, warm, safe)
                results = await loop.run_in_executor(client, fire_in_process, url, pushes, safe)
                retried = await loop.run_in_executor(
                    client, fire_in_process, url, pushes[:RETRIES], safe
                )
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
