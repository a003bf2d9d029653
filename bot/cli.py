"""Command line: `python -m bot <command>`. Everything here works offline."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import re
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from bot import cli_broadcast, cli_staffops
from bot.app import App, build_app, utc_now
from bot.channels.console import ConsoleOutput, chat, render_plain
from bot.channels.wechat_api import MenuButton
from bot.config import Config, ConfigError
from bot.core.types import Channel, Incoming, Reply
from bot.knowledge.loader import KnowledgeError, check_knowledge
from bot.knowledge.model import Ambiguous, Answer, Outcome
from bot.knowledge.service import KnowledgeService
from bot.runtime import Jobs

log = logging.getLogger(__name__)
# A str decoded from JSON keeps lone surrogates ("\ud800"); they cannot be printed as UTF-8.
SURROGATE = re.compile("[\ud800-\udfff]")
BATCH_FIELDS = ("q", "lang", "after")

# What an operator can fix: reported as one line and exit status 2, never a traceback.
START_UP_ERRORS = (ConfigError, KnowledgeError, sqlite3.Error, OSError)
EXIT_START_UP = 2


def main(argv: list[str] | None = None) -> int:
    """Run one command; a known start-up failure becomes `error: <one line>` and exit 2."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", _cmd_run)
    try:
        return int(handler(args))
    except START_UP_ERRORS as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr, flush=True)
        return EXIT_START_UP


def _one_line(exc: BaseException) -> str:
    """The first line of an error's message (a knowledge error may list many)."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    more = f" (and {len(lines) - 1} more; see `python -m bot kb check`)" if len(lines) > 1 else ""
    return lines[0] + more


def _parser() -> argparse.ArgumentParser:
    """Every command and its options."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Jinhua International Communication Center press bot. "
        "With no command: run on Telegram if TELEGRAM_TOKEN is set, else the console chat.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in (_run_and_chat, _ask_and_eval, _plan, _rsvp):
        add(sub)
    cli_broadcast.add_commands(sub)
    _wechat(sub)
    _kb(sub)
    return parser


Commands = Any  # argparse's subparsers action (a private type)


def _run_and_chat(sub: Commands) -> None:
    run = sub.add_parser("run", help="run the bot (console chat when no token is configured)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve webhooks (/telegram, /wechat, /healthz) on PORT",
    )
    run.set_defaults(handler=_cmd_run, webhook=False)

    chat_cmd = sub.add_parser("chat", help="chat with the bot in this terminal (offline)")
    chat_cmd.add_argument("--lang", help="your language: en zh fr es ar ru pt sw")
    chat_cmd.add_argument("--user", default="local", help="who you are (play several people)")
    chat_cmd.set_defaults(handler=_cmd_chat, offline_notice=False)


def _ask_and_eval(sub: Commands) -> None:
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


def _plan(sub: Commands) -> None:
    plan = sub.add_parser("plan", help="a day plan across interview sites (offline)")
    plan.add_argument("sites", nargs="+", metavar="SITE", help="route ids, e.g. shangshan-site")
    plan.add_argument("--date", help="YYYY-MM-DD (default: today in Jinhua)")
    plan.add_argument("--start", default="09:00", help="start time HH:MM (default 09:00)")
    plan.add_argument("--from", dest="place", default="jinhua-centre", help="start place id")
    plan.add_argument("--lang", default="en", help="language of the plan")
    plan.add_argument("--ics", metavar="FILE", help="also write the calendar file here")
    plan.set_defaults(handler=_cmd_plan)


def _rsvp(sub: Commands) -> None:
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


def _wechat(sub: Commands) -> None:
    wechat = sub.add_parser("wechat", help="WeChat Official Account tools (staff)")
    wechat_sub = wechat.add_subparsers(title="wechat commands", metavar="WECHAT_COMMAND",
                                       required=True)  # fmt: skip
    menu = wechat_sub.add_parser("menu", help="publish the account's menu from the commands")
    menu.add_argument("--lang", default="en", help="language of the button names (default en)")
    menu.add_argument("--dry-run", action="store_true", help="print the menu JSON, send nothing")
    menu.set_defaults(handler=_cmd_wechat_menu)


def _kb(sub: Commands) -> None:
    kb = sub.add_parser("kb", help="knowledge-base tools")
    kb_sub = kb.add_subparsers(title="kb commands", metavar="KB_COMMAND", required=True)
    check = kb_sub.add_parser("check", help="validate knowledge/ and show coverage by language")
    check.add_argument("--dir", type=Path, help="knowledge folder (default: ./knowledge)")
    check.set_defaults(handler=_cmd_kb_check)
    cli_staffops.add_commands(sub, kb_sub)


# run / chat -------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    config = Config.from_env()
    if config.telegram_token is None and not config.wechat:
        return _cmd_chat(argparse.Namespace(lang=None, user="local", offline_notice=True))
    from bot import logs
    from bot.channels import preflight, serve

    webhook = bool(getattr(args, "webhook", False))
    if not webhook and config.telegram_token is None:  # polling is Telegram's alone
        raise ConfigError("WeChat is served by webhook only: run `python -m bot run --webhook`")
    if webhook and config.telegram_token and not config.webhook_secret:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be set for --webhook")
    check_database(config.db_path)
    if webhook:
        check_port(config.host, config.port)
    if config.telegram_token:
        asyncio.run(preflight.check_bot_api(config.telegram_token, config.telegram_api_url))
    if config.wechat and not webhook:
        print("WeChat is not served while polling: add --webhook.", file=sys.stderr)
    logs.configure([config.telegram_token, config.webhook_secret, config.wechat_token,
                    config.wechat_app_secret or None, config.wechat_aes_key])  # fmt: skip
    try:
        asyncio.run(serve.webhook(config) if webhook else serve.polling(config))
    except Exception as exc:
        error = preflight.as_start_up_error(exc)
        if error is exc:
            raise
        raise error from exc
    return 0


def check_database(path: str) -> None:
    """Open the database as the bot will and try a write, so a corrupt, truncated or
    read-only file fails here, in one line, before any thread or server starts."""
    if path == ":memory:":
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            _try_a_write(db)
    except (OSError, sqlite3.Error) as exc:
        raise sqlite3.DatabaseError(f"database {path} (BOT_DB): {exc}") from exc


def _try_a_write(db: sqlite3.Connection) -> None:
    """Rewrite the schema version in a transaction rolled back: nothing changes."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        db.execute(f"PRAGMA user_version = {version}")
    finally:
        db.execute("ROLLBACK")


def check_port(host: str, port: int) -> None:
    """Fail before start-up (and before setWebhook) if HOST:PORT cannot be listened on."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port} (HOST, PORT): {exc}") from exc


def _cmd_chat(args: argparse.Namespace) -> int:
    config = Config.from_env()
    check_database(config.db_path)

    async def go() -> None:
        app = await build_app(config)
        output = ConsoleOutput(sys.stdout, config.exports_dir, args.user[:64] or "local")
        jobs = Jobs(app, {Channel.CONSOLE: output})
        jobs.start()
        try:
            await chat(app.handle, output, args.lang, offline_notice=args.offline_notice,
                       delivered=app.delivered)  # fmt: skip
        finally:
            await jobs.stop()
            await app.close()

    asyncio.run(go())
    return 0


# ask -------------------------------------------------------------------------------


def _cmd_ask(args: argparse.Namespace) -> int:
    if args.batch:
        return _cmd_ask_batch(args.batch, args.lang, args.json)
    if not args.question:
        print(
            "usage: python -m bot ask [--lang L] [--json] QUESTION | --batch FILE", file=sys.stderr
        )
        return 2
    rows = [{"q": clean_text(" ".join(args.question)), "lang": args.lang}]
    for result in asyncio.run(answer_rows(rows)):
        _print_result(result, args.json)
    return 0


async def answer_rows(
    rows: list[dict[str, Any]], config: Config | None = None
) -> list[dict[str, Any]]:
    """Answer each row in a fresh conversation (its `after` question asked first)."""
    app = await _offline_app(config)
    try:
        return [await _answer_row(app, number, row) for number, row in enumerate(rows)]
    finally:
        await app.close()


async def _offline_app(config: Config | None) -> App:
    """The bot on an in-memory database: answers change nothing on disk."""
    config = replace(config or Config.from_env(), db_path=":memory:")
    return await build_app(config, KnowledgeService(config.knowledge_dir))


def _cmd_ask_batch(name: str, lang: str | None, as_json: bool) -> int:
    """Answer a JSON-lines batch, printing each result as soon as it is ready."""
    handle = _open_text(name)
    try:
        asyncio.run(_stream_batch(handle, lang, as_json))
    finally:
        if handle is not sys.stdin:
            handle.close()
    return 0


def _open_text(name: str) -> TextIO:
    """A file or stdin as UTF-8 text; undecodable bytes become U+FFFD, not an abort."""
    if name == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return open(name, encoding="utf-8", errors="replace")


async def _stream_batch(handle: TextIO, lang: str | None, as_json: bool) -> None:
    """One result per non-blank line, in order: an answer or {"q", "error"}."""
    app = await _offline_app(None)
    try:
        for number, line in enumerate(filter(str.strip, handle)):
            row = batch_row(line, lang)
            result = row if "error" in row else await _answer_safely(app, number, row)
            _print_result(result, as_json)
    finally:
        await app.close()


def batch_row(line: str, lang: str | None = None) -> dict[str, Any]:
    """A batch line as {"q", "lang", "after"}, or as {"q", "error"} when it is unusable."""
    try:
        row = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return {"q": None, "error": clean_text(f"not JSON: {exc}")}
    if isinstance(row, str):
        row = {"q": row}
    if not isinstance(row, dict):
        return {"q": None, "error": f"expected a JSON object, got {type(row).__name__}"}
    row.setdefault("lang", lang)
    problem = _row_problem(row)
    if problem:
        shown = row.get("q")
        return {"q": clean_text(shown) if isinstance(shown, str) else shown, "error": problem}
    return {
        key: clean_text(row[key]) if isinstance(row.get(key), str) else None for key in BATCH_FIELDS
    }


def _row_problem(row: dict[str, Any]) -> str | None:
    """Why a row cannot be answered, or None."""
    if not isinstance(row.get("q"), str):
        return '"q" must be a string (the question)'
    for key in ("lang", "after"):
        if row.get(key) is not None and not isinstance(row[key], str):
            return f'"{key}" must be a string or absent'
    return None


def clean_text(text: str) -> str:
    """The text with lone surrogates replaced by U+FFFD, so it can be encoded."""
    return SURROGATE.sub("\ufffd", text)


async def _answer_safely(app: App, number: int, row: dict[str, Any]) -> dict[str, Any]:
    """The row's answer; an unexpected failure becomes that row's error, not the batch's."""
    try:
        return await _answer_row(app, number, row)
    except Exception as exc:
        log.error("batch row %d failed: %s", number + 1, type(exc).__name__)
        return {"q": row["q"], "error": f"internal error ({type(exc).__name__})"}


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    """One result: a JSON line, or the answer text (or the error) and a blank line."""
    if as_json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    elif "error" in result:
        print(f"error: {result['error']}", end="\n\n", flush=True)
    else:
        print(result["text"], end="\n\n", flush=True)


async def _answer_row(app: App, number: int, row: dict[str, Any]) -> dict[str, Any]:
    user = f"batch-{number}"
    hint = row.get("lang")
    if row.get("after"):
        await app.handle(Incoming(Channel.BATCH, user, user, str(row["after"]), locale_hint=hint))
    question = str(row.get("q", ""))
    replies = await app.handle(Incoming(Channel.BATCH, user, user, question, locale_hint=hint))
    await app.delivered(replies)  # printed: what they back up is delivered
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
    config = Config.from_env()
    check_database(config.db_path)
    app = await build_app(config)
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


# wechat menu -----------------------------------------------------------------------


def _cmd_wechat_menu(args: argparse.Namespace) -> int:
    """Build the menu from the public commands; print it, or publish it to the account."""
    from bot.channels.wechat_api import menu_from_commands, menu_problems
    from bot.i18n import supported, translator

    config = Config.from_env()  # a bad setting: main() says so in one line

    async def go() -> int:
        async with _staff_app() as app:
            t = translator(supported(args.lang) or "en")
            menu = menu_from_commands(app.dispatcher.public_commands(), t.gettext)
            if problems := menu_problems(menu):
                print("the menu breaks WeChat's limits: " + "; ".join(problems), file=sys.stderr)
                return 1
            if args.dry_run:
                body = {"button": [b.as_json() for b in menu]}
                print(json.dumps(body, ensure_ascii=False, indent=2))
                return 0
            return await _publish_menu(config, app, menu)

    return asyncio.run(go())


async def _publish_menu(config: Config, app: App, menu: Sequence[MenuButton]) -> int:
    from bot.channels.serve import wechat_api
    from bot.channels.wechat_api import WeChatApiError

    if not config.wechat_app_id or not config.wechat_app_secret:
        print("WECHAT_APP_ID and WECHAT_APP_SECRET must be set to publish.", file=sys.stderr)
        return 2
    api = wechat_api(config, app)
    try:
        await api.create_menu(menu)
    except WeChatApiError as exc:
        print(f"WeChat refused the menu: errcode {exc.errcode}", file=sys.stderr)
        return 1
    finally:
        await api.close()
    print(f"published a menu of {len(menu)} buttons")
    return 0


# kb check --------------------------------------------------------------------------


def _cmd_kb_check(args: argparse.Namespace) -> int:
    from bot.knowledge.check import print_check

    root = args.dir or Config.from_env().knowledge_dir
    status = print_check(check_knowledge(root), root)
    if args.dir is None:  # the samples of the configured bot, on its database
        cli_staffops.print_live_samples()
    return status
