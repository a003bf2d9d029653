"""Command line for staff operations: `stats`, `audit` and `kb unanswered`, and the live
sample tours that `kb check` reports. Offline: they read the configured database."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import App, build_app
from bot.config import Config
from bot.features.insights import STATS_DAYS, chart, render_audit, render_figures, render_groups
from bot.i18n import translator
from bot.staffops.questions import SHANGHAI


def add_commands(sub: Any, kb_sub: Any) -> None:
    """Add `stats`, `audit` and `kb unanswered` to the parser."""
    stats = sub.add_parser("stats", help="usage figures (staff): people, questions, RSVPs…")
    stats.add_argument("--days", type=int, default=STATS_DAYS, help="days back (default 30)")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.add_argument("--chart", metavar="FILE.png", help="also draw the chart into this file")
    stats.add_argument("--lang", default="en", help="language of the text")
    stats.set_defaults(handler=cmd_stats)
    audit = sub.add_parser("audit", help="the staff audit log, newest first")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler=cmd_audit)
    unanswered = kb_sub.add_parser("unanswered", help="questions the bot could not answer")
    unanswered.add_argument("--since", help="YYYY-MM-DD (default: all kept)")
    unanswered.add_argument("--csv", action="store_true", help="CSV for a spreadsheet")
    unanswered.set_defaults(handler=cmd_unanswered)


@asynccontextmanager
async def _app() -> AsyncIterator[App]:
    app = await build_app(Config.from_env())
    try:
        yield app
    finally:
        await app.close()


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the figures; --chart writes the PNG."""

    async def go() -> Any:
        async with _app() as app:
            return await app.staffops.insights.figures(args.days)

    figures = asyncio.run(go())
    t = translator(args.lang)
    if args.chart:
        Path(args.chart).write_bytes(chart(figures, t))
    if args.json:
        data = {**asdict(figures), "answer_rate": round(figures.answer_rate, 3)}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(render_figures(figures, t))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the latest staff actions."""

    async def go() -> list[dict[str, Any]]:
        async with _app() as app:
            return await app.repos.audit.recent(args.limit)

    entries = asyncio.run(go())
    if args.json:
        print(json.dumps(entries, ensure_ascii=False))
    else:
        print(render_audit(entries, translator("en")))
    return 0


def cmd_unanswered(args: argparse.Namespace) -> int:
    """Print the unanswered questions grouped, or as CSV."""
    since = datetime.fromisoformat(args.since).replace(tzinfo=SHANGHAI) if args.since else None

    async def go() -> Any:
        async with _app() as app:
            return await app.staffops.questions.groups(since)

    groups = asyncio.run(go())
    if not args.csv:
        print(render_groups(groups, translator("en")))
        return 0
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["count", "lang", "question", "variants", "best_guess", "last_asked"])
    for g in groups:
        last = datetime.fromtimestamp(g.last_at, SHANGHAI).isoformat(timespec="minutes")
        writer.writerow([g.count, g.lang, _safe(g.example), _safe(" | ".join(g.variants[1:])),
                         g.guess, last])  # fmt: skip
    return 0


def _safe(text: str) -> str:
    """A question as a spreadsheet cell: text, never a formula."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def print_live_samples() -> None:
    """After `kb check`: how many sample tours reporters still see (they cannot book them)."""

    async def go() -> int:
        async with _app() as app:
            return len(app.rsvp.live_samples())

    live = asyncio.run(go())
    if live:
        print(f"tours.yaml: {live} sample tour(s) are live: shown as samples, not bookable. "
              "Replace them with real tours (remove `sample: true`).")  # fmt: skip
    else:
        print("tours.yaml: no sample tours are live.")
