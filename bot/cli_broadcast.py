"""`python -m bot broadcast …`: staff broadcasts from the server's command line.

The CLI only queues into the store; the running bot's outbox worker delivers. Access to
the CLI is access to the server, and every call must also name a staff id (`--as`) that is
in BOT_STAFF_IDS: it is recorded as who sent or cancelled the broadcast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.app import App, build_app
from bot.broadcast.repository import Broadcast, Draft
from bot.broadcast.service import BroadcastError, parse_audience, parse_when, progress_of
from bot.config import Config
from bot.features.broadcast import message_for, progress_bar
from bot.i18n import LANGUAGES

WATCH_EVERY_S = 1.0
NO_BOT = (
    "note: no running bot has been seen in the last minute; the broadcast is stored and "
    "will be delivered when the bot runs (python -m bot run)."
)


def add_commands(sub: Any) -> None:
    """The `broadcast` command and its subcommands."""
    broadcast = sub.add_parser("broadcast", help="staff broadcasts (the running bot delivers)")
    commands = broadcast.add_subparsers(title="broadcast commands", metavar="BROADCAST_COMMAND",
                                        required=True)  # fmt: skip
    send = commands.add_parser("send", help="queue a broadcast")
    send.add_argument("--audience", required=True,
                      help="all | lang:CODE | tour:ID | tour:ID:waitlisted | staff")  # fmt: skip
    send.add_argument("--file", required=True, type=Path, help="the message (UTF-8 text)")
    send.add_argument("--lang", default="en", help="language of --file (default en)")
    send.add_argument("--lang-file", action="append", default=[], metavar="CODE=FILE",
                      help="a version in another language; repeat for more")  # fmt: skip
    send.add_argument("--at", help="send later: '2025-06-01 09:00' (Asia/Shanghai) [ZONE]")
    send.add_argument("--yes", action="store_true", help="queue without asking")
    send.set_defaults(handler=_cmd_send)
    status = commands.add_parser("status", help="progress of a broadcast (live)")
    status.add_argument("id", type=int)
    status.add_argument("--json", action="store_true", help="one snapshot as JSON")
    status.set_defaults(handler=_cmd_status)
    listing = commands.add_parser("list", help="recent broadcasts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_cmd_list)
    cancel = commands.add_parser("cancel", help="stop a broadcast; what was sent stays sent")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(handler=_cmd_cancel)
    for command in (send, status, listing, cancel):
        command.add_argument(
            "--as", dest="staff", required=True, metavar="STAFF_ID",
            help="who you are, one of BOT_STAFF_IDS (e.g. telegram:123)",
        )  # fmt: skip


def _run(args: argparse.Namespace, go: Any) -> int:
    """Check the staff id, then run `go(app)` on the configured store."""
    config = Config.from_env()
    if args.staff not in config.staff_ids:
        print(f"error: {args.staff!r} is not in BOT_STAFF_IDS", file=sys.stderr)
        return 2

    async def main() -> int:
        app = await build_app(config)
        try:
            return int(await go(app))
        finally:
            await app.close()

    try:
        return asyncio.run(main())
    except BroadcastError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _texts(args: argparse.Namespace) -> dict[str, str]:
    texts = {args.lang: args.file.read_text(encoding="utf-8").strip()}
    for item in args.lang_file:
        code, _, name = item.partition("=")
        if code not in LANGUAGES or not name:
            raise BroadcastError(f"--lang-file wants CODE=FILE with CODE in {LANGUAGES}")
        texts[code] = Path(name).read_text(encoding="utf-8").strip()
    return texts


def _cmd_send(args: argparse.Namespace) -> int:
    async def go(app: App) -> int:
        service = app.broadcasts.service
        audience = parse_audience(args.audience, frozenset(LANGUAGES))
        if audience.kind == "me":
            raise BroadcastError("'me' is for the chat; use 'staff' here")
        at = parse_when(args.at).timestamp() if args.at else service.clock()
        if args.at and at <= service.clock():
            raise BroadcastError("that time has passed")
        texts = _texts(args)
        people = await service.recipients(audience)
        _print_preview(texts, args.lang, len(people), str(audience))
        if not args.yes and input("Queue it? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing was queued.")
            return 1
        draft = Draft(args.staff, str(audience), texts, args.lang, at, audience.subscribers_only)
        created = await app.broadcasts.queue(draft, audience)
        print(f"Broadcast #{created.id} queued for {created.recipients} recipients.")
        if not await service.bot_running():
            print(NO_BOT, file=sys.stderr)
        return 0

    return _run(args, go)


def _print_preview(texts: dict[str, str], default: str, count: int, audience: str) -> None:
    print(f"{count} recipients ({audience}). Each gets the version in their language:")
    others = [c for c in LANGUAGES if c not in texts]
    for lang in [*texts, *others[:1]]:
        label = lang if lang in texts else f"{lang} and other languages without a version"
        print(f"--- {label} ---\n{message_for(texts, default, lang).text}")
    print("---")


def _cmd_status(args: argparse.Namespace) -> int:
    async def go(app: App) -> int:
        service = app.broadcasts.service
        while True:
            broadcast = await service.get(args.id)
            if broadcast is None:
                print(f"no broadcast #{args.id}", file=sys.stderr)
                return 1
            if args.json:
                print(json.dumps(_as_json(broadcast), ensure_ascii=False))
                return 0
            done, tty = progress_of(broadcast).finished, sys.stdout.isatty()
            print(f"\r{_line(broadcast)}", end="" if tty else "\n", flush=True)  # one live line
            if done or not await service.bot_running():
                print(end="\n" if tty else "")
                if not done:
                    print(NO_BOT, file=sys.stderr)
                return 0
            await asyncio.sleep(WATCH_EVERY_S)

    return _run(args, go)


def _line(b: Broadcast) -> str:
    p = progress_of(b)
    return (
        f"#{b.id} {b.status:9} {progress_bar(p.total - p.pending, p.total)}  sent {p.sent}/"
        f"{p.total} pending {p.pending} blocked {p.blocked} failed {p.failed} "
        f"outside-window {p.outside_window} unsubscribed {p.skipped} cancelled {p.cancelled}"
    )


def _as_json(b: Broadcast) -> dict[str, Any]:
    p = progress_of(b)
    row = {k: v for k, v in asdict(b).items() if k not in ("report", "counts")}
    return {**row, "progress": {**asdict(p), "total": p.total, "finished": p.finished}}


def _cmd_list(args: argparse.Namespace) -> int:
    async def go(app: App) -> int:
        recent = await app.broadcasts.service.recent(20)
        if args.json:
            print(json.dumps([_as_json(b) for b in recent], ensure_ascii=False))
            return 0
        for b in recent:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.created_at))
            print(f"{when} by {b.created_by} to {b.audience}\n  {_line(b)}")
        if not recent:
            print("No broadcasts yet.")
        return 0

    return _run(args, go)


def _cmd_cancel(args: argparse.Namespace) -> int:
    async def go(app: App) -> int:
        if await app.broadcasts.service.cancel(args.id, args.staff):
            print(f"Broadcast #{args.id} stopped; what was sent stays sent.")
            return 0
        print(f"Broadcast #{args.id} is not running.", file=sys.stderr)
        return 1

    return _run(args, go)
