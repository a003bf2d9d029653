"""The command line, run as a user would: a subprocess, real files, real stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SUBCOMMANDS = ("run", "chat", "ask", "eval", "kb")


def bot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TELEGRAM_TOKEN": "", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, env=environment, timeout=60,
    )  # fmt: skip


def test_help_lists_every_subcommand() -> None:
    result = bot("--help")
    assert result.returncode == 0
    for name in SUBCOMMANDS:
        assert name in result.stdout


def test_ask_json_batch_keeps_order_and_runs_after_first(tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    rows = [
        {"q": "义乌国际商贸城几点开门"},
        {"q": "and the opening hours?", "after": "What is the Shangshan site?"},
        {"q": "asdfghjkl", "lang": "fr"},  # neutral: the platform language stands
        {"q": "and the opening hours?"},
    ]
    batch.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    result = bot("ask", "--json", "--batch", str(batch), env={"BOT_DB": str(tmp_path / "x.db")})
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["q"] for o in out] == [r["q"] for r in rows]
    assert set(out[0]) == {"q", "topic", "facet", "lang", "confidence", "text"}
    assert (out[0]["topic"], out[0]["facet"], out[0]["lang"]) == ("yiwu-trade-city", "hours", "zh")
    assert (out[1]["topic"], out[1]["facet"]) == ("shangshan-site", "hours")
    assert (out[2]["topic"], out[2]["lang"]) == (None, "fr")
    assert out[3]["topic"] != "shangshan-site"  # each line is a fresh conversation
    assert all(0 <= o["confidence"] <= 1 for o in out)


def test_ask_reads_batch_from_stdin() -> None:
    result = bot("ask", "--json", "--batch", "-", stdin='{"q": "Shangshan"}\n')
    assert json.loads(result.stdout)["topic"] == "shangshan-site"


def test_plain_ask_prints_the_answer_text() -> None:
    result = bot("ask", "--lang", "ru", "Shangshan")
    assert result.returncode == 0
    assert any("\u0400" <= c <= "\u04ff" for c in result.stdout)


def test_console_chat_follows_up_and_numbers_choices(tmp_path: Path) -> None:
    script = "Where is the Shangshan site?\nhow do I get there?\ntell me a joke\n1\n"
    result = bot("chat", stdin=script, env={"BOT_DB": str(tmp_path / "chat.db")})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Shangshan" in result.stdout and "  1. " in result.stdout


def test_console_writes_files_to_exports_and_plays_several_people(tmp_path: Path) -> None:
    env = {
        "BOT_DB": str(tmp_path / "chat.db"),
        "BOT_EXPORTS_DIR": str(tmp_path / "out"),
        "BOT_BOOK_SAMPLES": "1",
    }  # the shipped tours are samples
    tour = "jinhua-heritage-and-industry"
    booking = f"/start tour_{tour}\n1\nLéa\nAFP\ncamera\n1\nnone\n1\n/mytours\n"
    second = bot("chat", "--user", "lea", "--lang", "fr", stdin=booking, env=env)
    assert second.returncode == 0, second.stderr
    [calendar] = (tmp_path / "out").glob("*.ics")
    assert f"📎 {calendar}" in second.stdout
    assert calendar.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert "Annuler" in second.stdout  # /mytours: léa has a booking, in her language
    third = bot("chat", "--user", "ana", stdin="/mytours\n", env=env)
    assert tour not in third.stdout and "/tours" in third.stdout  # ana has none


def test_run_without_token_falls_back_to_console_and_says_how_to_go_live(tmp_path: Path) -> None:
    result = bot(stdin="Shangshan\n", env={"BOT_DB": str(tmp_path / "run.db")})
    assert result.returncode == 0
    assert "TELEGRAM_TOKEN" in result.stdout
    assert "Shangshan" in result.stdout


def test_kb_check_passes_on_the_real_base_and_fails_on_a_broken_one(tmp_path: Path) -> None:
    good = bot("kb", "check")
    assert good.returncode == 0, good.stdout
    assert "wuzhou-ancient-city" in good.stdout and "0 errors" in good.stdout
    (tmp_path / "routes").mkdir()
    (tmp_path / "facets.yaml").write_text("{}\n")
    (tmp_path / "routes" / "oops.yaml").write_text("id: oops\nkind: route\ntitle: [\n")
    bad = bot("kb", "check", "--dir", str(tmp_path))
    assert bad.returncode == 1
    assert "oops.yaml:3" in bad.stdout or "oops.yaml:4" in bad.stdout


def test_eval_reports_accuracy_by_language_and_style(tmp_path: Path) -> None:
    rows = [
        {"q": "Where is Shangshan?", "lang": "en", "expect": "shangshan-site", "style": "plain"},
        {"q": "tell me a joke", "lang": "en", "expect": None, "style": "out-of-scope"},
    ]  # fmt: skip
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = bot("eval", str(path))
    assert result.returncode == 0, result.stderr
    assert "in-scope top-1:         1/1 (100.0 %)" in result.stdout
    assert "out-of-scope rejected:  1/1 (100.0 %)" in result.stdout
    assert "out-of-scope" in result.stdout and "plain" in result.stdout


def test_plan_prints_the_day_and_writes_the_calendar(tmp_path: Path) -> None:
    ics = tmp_path / "plan.ics"
    options = ["--date", "2099-03-03", "--from", "yiwu-airport", "--start", "08:30"]
    result = bot(
        "plan", "shangshan-site", "lizu-village", *options, "--lang", "es", "--ics", str(ics)
    )
    assert result.returncode == 0, result.stderr
    assert "Aldea de Lizu" in result.stdout and "min en coche" in result.stdout
    assert ics.read_bytes().count(b"BEGIN:VEVENT") == 2
    bad = bot("plan", "atlantis")
    assert bad.returncode == 2 and "shangshan-site" in bad.stderr


def test_rsvp_staff_commands_list_export_and_check_in(tmp_path: Path) -> None:
    import asyncio

    from bot.app import build_app
    from bot.config import Config
    from bot.rsvp.service import Person
    from tests.conftest import KNOWLEDGE

    db_path = tmp_path / "rsvp.sqlite3"

    async def book() -> str:
        # The shipped tours are samples: booking them is switched on for this test only.
        config = Config(knowledge_dir=KNOWLEDGE, db_path=str(db_path), book_samples=True)
        app = await build_app(config)
        tours = app.rsvp.tours
        app.rsvp.clock = lambda: next(iter(tours.values())).rsvp_closes.replace(year=2026)
        booking = await app.rsvp.request(
            next(iter(tours)), Person("telegram", "7", "7", "ar", "سارة", "Al Jazeera")
        )
        await app.close()
        return booking.code

    code = asyncio.run(book())
    env = {"BOT_DB": str(db_path)}
    listed = bot("rsvp", "list", "jinhua-heritage-and-industry", "--json", env=env)
    assert json.loads(listed.stdout)[0]["name"] == "سارة"
    exported = bot(
        "rsvp", "export", "jinhua-heritage-and-industry", "--out", str(tmp_path / "a.csv"), env=env
    )
    assert exported.returncode == 0
    assert (tmp_path / "a.csv").read_bytes().startswith(b"\xef\xbb\xbfCheck-in code,Status")
    checked = bot("rsvp", "checkin", code.lower(), "--json", env=env)
    assert json.loads(checked.stdout)["checked_in"] is True
    assert bot("rsvp", "checkin", "ZZZZZZ", env=env).returncode == 1
