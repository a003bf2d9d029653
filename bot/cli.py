"""Command line: `python -m bot <command>`. Everything here works offline."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from bot import cli_staffops
from bot.app import App, build_app, utc_now
from bot.channels.console import ConsoleOutput, chat, render_plain
from bot.config import Config
from bot.core.types import Channel, Incoming, Reply
from bot.knowledge.loader import check_knowledge
from bot.knowledge.model import Ambiguous, Answer, Outcome
from bot.knowledge.service import KnowledgeService
from bot.runtime import Jobs


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", _cmd_run)
    return int(handler(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Jinhua International Communication Center press bot. "
        "With no command: run on Telegram if TELEGRAM_TOKEN is set, else the console chat.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot (console chat when no token is configured)")
    run.add_argument(
        "--webhook", action="store_true", help="serve webhooks (/telegram, /healthz) on PORT"
    )
    run.set_defaults(handler=_cmd_run, webhook=False)

    chat_cmd = sub.add_parser("chat", help="chat with the bot in this terminal (offline)")
    chat_cmd.add_argument("--lang", help="your language: en zh fr es ar ru pt sw")
    chat_cmd.add_argument("--user", default="local", help="who you are (play several people)")
    chat_cmd.set_defaults(handler=_cmd_chat, offline_notice=False)

    ask = sub.add_parser("ask", help="answer one question, or a batch of JSON lines")
    ask.add_argument("question", nargs="*", help="the question")
    ask.add_argument("--lang", help="the asker's language")
    ask.add_argument("--json", action="store_true", help="print JSON lines")
    ask.add_argument(
        "--batch", metavar="FILE", help='JSON lines {"q", "lang"?, "after"?}; - = stdin'
    )
    ask.set_defaults(handler=_cmd_ask)

    evaluate = sub.add_parser("eval", help="accuracy on a question set (dev-set format)")
    evaluate.add_argument("file", help="JSON lines {q, lang, expect, style}")
    evaluate.add_argument(
        "--lang-hint", action="store_true", help="pass each row's lang as the platform hint"
    )
    evaluate.add_argument("--errors", action="store_true", help="list the questions it got wrong")
    evaluate.set_defaults(handler=_cmd_eval)

    plan = sub.add_parser("plan", help="a day plan across interview sites (offline)")
    plan.add_argument("sites", nargs="+", metavar="SITE", help="route ids, e.g. shangshan-site")
    plan.add_argument("--date", help="YYYY-MM-DD (default: today in Jinhua)")
    plan.add_argument("--start", default="09:00", help="start time HH:MM (default 09:00)")
    plan.add_argument("--from", dest="place", default="jinhua-centre", help="start place id")
    plan.add_argument("--lang", default="en", help="language of the plan")
    plan.add_argument("--ics", metavar="FILE", help="also write the calendar file here")
    plan.set_defaults(handler=_cmd_plan)

    rsvp = sub.add_parser("rsvp", help="media-tour RSVPs (staff)")
    rsvp_sub = rsvp.add_subparsers(title="rsvp commands", metavar="RSVP_COMMAND", required=True)
    listing = rsvp_sub.add_parser("list", help="who is coming to a tour")
    listing.add_argument("tour")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_cmd_rsvp_list)
    export = rsvp_sub.add_parser("export", help="attendees as CSV (UTF-8 with BOM, for Excel)")
    export.add_argument("tour")
    export.add_argument("--out", help="file (default: stdout)")
    export.set_defaults(handler=_cmd_rsvp_export)
    checkin = rsvp_sub.add_parser("checkin", help="check someone in by their code")
    checkin.add_argument("code")
    checkin.add_argument("--json", action="store_true")
    checkin.set_defaults(handler=_cmd_rsvp_checkin)

    kb = sub.add_parser("kb", help="knowledge-base tools")
    kb_sub = kb.add_subparsers(title="kb commands", metavar="KB_COMMAND", required=True)
    check = kb_sub.add_parser("check", help="validate knowledge/ and show coverage by language")
    check.add_argument("--dir", type=Path, help="knowledge folder (default: ./knowledge)")
    check.set_defaults(handler=_cmd_kb_check)
    cli_staffops.add_commands(sub, kb_sub)
    return parser


# run / chat -------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    config = Config.from_env()
    if config.telegram_token is None:
        return _cmd_chat(argparse.Namespace(lang=None, user="local", offline_notice=True))
    from bot import logs
    from bot.channels import serve

    logs.configure([config.telegram_token, config.webhook_secret])
    if getattr(args, "webhook", False):
        if not config.webhook_secret:
            print("TELEGRAM_WEBHOOK_SECRET must be set for --webhook.", file=sys.stderr)
            return 2
        asyncio.run(serve.webhook(config))
    else:
        asyncio.run(serve.polling(config))
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    async def go() -> None:
        config = Config.from_env()
        app = await build_app(config)
        output = ConsoleOutput(sys.stdout, config.exports_dir, args.user[:64] or "local")
        jobs = Jobs(app, {Channel.CONSOLE: output})
        jobs.start()
        try:
            await chat(app.handle, output, args.lang, offline_notice=args.offline_notice)
        finally:
            await jobs.stop()
            await app.close()

    asyncio.run(go())
    return 0


# ask -------------------------------------------------------------------------------


def _cmd_ask(args: argparse.Namespace) -> int:
    if args.batch:
        rows = _read_batch(args.batch)
    elif args.question:
        rows = [{"q": " ".join(args.question)}]
    else:
        print(
            "usage: python -m bot ask [--lang L] [--json] QUESTION | --batch FILE", file=sys.stderr
        )
        return 2
    for row in rows:
        row.setdefault("lang", args.lang)
    results = asyncio.run(answer_rows(rows))
    for result in results:
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            print(result["text"], end="\n\n")
    return 0


async def answer_rows(
    rows: list[dict[str, Any]], config: Config | None = None
) -> list[dict[str, Any]]:
    """Answer each row in a fresh conversation (its `after` question asked first)."""
    config = replace(config or Config.from_env(), db_path=":memory:")
    app = await build_app(config, KnowledgeService(config.knowledge_dir))
    try:
        return [await _answer_row(app, number, row) for number, row in enumerate(rows)]
    finally:
        await app.close()


async def _answer_row(app: App, number: int, row: dict[str, Any]) -> dict[str, Any]:
    user = f"batch-{number}"
    hint = row.get("lang")
    if row.get("after"):
        await app.handle(Incoming(Channel.BATCH, user, user, str(row["after"]), locale_hint=hint))
    question = str(row.get("q", ""))
    replies = await app.handle(Incoming(Channel.BATCH, user, user, question, locale_hint=hint))
    return _result(question, replies)


def _result(question: str, replies: list[Reply]) -> dict[str, Any]:
    outcome = next((r.meta["outcome"] for r in replies if "outcome" in r.meta), None)
    topic, facet, confidence = _outcome_fields(outcome)  # type: ignore[arg-type]
    return {
        "q": question,
        "topic": topic,
        "facet": facet,
        "lang": replies[-1].lang if replies else "en",
        "confidence": confidence,
        "text": "\n\n".join(render_plain(r) for r in replies),
    }


def _outcome_fields(outcome: Outcome | None) -> tuple[str | None, str | None, float]:
    if isinstance(outcome, Answer):
        return outcome.topic_id, outcome.facet, outcome.confidence
    if isinstance(outcome, Ambiguous):
        # The bot shows the candidates, best first; report its best guess at lower confidence.
        return outcome.candidates[0], outcome.facet, outcome.confidence / 2
    return None, None, outcome.confidence if outcome else 0.0


def _read_batch(name: str) -> list[dict[str, Any]]:
    if name == "-":
        return list(_read_jsonl(sys.stdin))
    with open(name, encoding="utf-8") as handle:
        return list(_read_jsonl(handle))


def _read_jsonl(handle: TextIO) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"line {number}: not JSON: {exc}") from exc
            yield row if isinstance(row, dict) else {"q": str(row)}


# eval ------------------------------------------------------------------------------


def _cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import evaluate, print_report

    with open(args.file, encoding="utf-8") as handle:
        rows = list(_read_jsonl(handle))
    report = evaluate(rows, asyncio.run(answer_rows(_eval_inputs(rows, args.lang_hint))))
    print_report(report, show_errors=args.errors)
    return 0


def _eval_inputs(rows: list[dict[str, Any]], with_hint: bool) -> list[dict[str, Any]]:
    return [
        {"q": r["q"], "after": r.get("after"), "lang": r.get("lang") if with_hint else None}
        for r in rows
    ]


# plan ------------------------------------------------------------------------------


def _cmd_plan(args: argparse.Namespace) -> int:
    from datetime import date, time

    from bot.features.plan_render import plan_reply
    from bot.i18n import translator
    from bot.itinerary.service import ItineraryService

    service = ItineraryService(KnowledgeService(Config.from_env().knowledge_dir), utc_now)
    try:
        day = date.fromisoformat(args.date) if args.date else service.today()
        start = time.fromisoformat(args.start)
        plan = service.plan(args.sites, day, args.place, start)
    except ValueError as exc:
        print(f"error: {exc}. Sites: {', '.join(service.sites)}; start places: "
              f"{', '.join(service.start_places)}", file=sys.stderr)  # fmt: skip
        return 2
    reply = plan_reply(plan, service.planner, translator(args.lang), utc_now())
    print(reply.text)
    if args.ics and reply.attachment:
        Path(args.ics).write_bytes(reply.attachment.content)
    return 0


@asynccontextmanager
async def _staff_app() -> AsyncIterator[App]:
    """The bot's services on the configured store, for one staff command."""
    app = await build_app(Config.from_env())
    try:
        yield app
    finally:
        await app.close()


def _cmd_rsvp_list(args: argparse.Namespace) -> int:
    async def go() -> list[Any]:
        async with _staff_app() as app:
            return list(await app.rsvp.bookings(args.tour))

    bookings = asyncio.run(go())
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(b) for b in bookings], ensure_ascii=False))
        return 0
    confirmed = sum(b.status == "confirmed" for b in bookings)
    print(f"{args.tour}: {confirmed} confirmed, {len(bookings) - confirmed} waitlisted")
    for b in bookings:
        place = f"#{b.position}" if b.position else ""
        print(f"  {b.code}  {b.status:10} {place:5} {b.name} ({b.outlet})")
    return 0


def _cmd_rsvp_export(args: argparse.Namespace) -> int:
    async def go() -> bytes:
        from bot.features.rsvp import export_csv
        from bot.i18n import translator

        async with _staff_app() as app:
            return await export_csv(app.rsvp, args.tour, translator("en"))

    data = asyncio.run(go())
    if args.out:
        Path(args.out).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


def _cmd_rsvp_checkin(args: argparse.Namespace) -> int:
    async def go() -> Any:
        async with _staff_app() as app:
            booking, _ = await app.rsvp.check_in(args.code)
            return booking

    booking = asyncio.run(go())
    if booking is None or not booking.checked_in:
        print(f"no confirmed booking with code {args.code!r}", file=sys.stderr)
        return 1
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(booking), ensure_ascii=False))
    else:
        print(f"checked in: {booking.name} ({booking.outlet}), tour {booking.tour_id}")
    return 0


# kb check --------------------------------------------------------------------------


def _cmd_kb_check(args: argparse.Namespace) -> int:
    from bot.knowledge.check import print_check

    root = args.dir or Config.from_env().knowledge_dir
    status = print_check(check_knowledge(root), root)
    if args.dir is None:  # the samples of the configured bot, on its database
        cli_staffops.print_live_samples()
    return status
