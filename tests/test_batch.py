"""`ask --json --batch`: one bad row costs only its own line, and results stream out."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import batch_row, clean_text
from tests.conftest import ROOT

GOOD = [
    {"q": "Shangshan", "lang": "fr"},
    {"q": "how do I get there?", "after": "Shangshan site"},
    {"q": "Yiwu market"},
]
BAD_LINES = [
    '{"q": "hello", "lang": 5}',
    '{"q": 42}',
    '{"lang": "en"}',
    '{"q": "hi", "after": ["x"]}',
    "[1, 2]",
    "null",
    "{bad json",
    "[" * 5000,
]
KEYS = ["q", "topic", "facet", "lang", "confidence", "text"]


def ask_batch(text: str | bytes) -> list[dict[str, Any]]:
    """Run the batch command on stdin; the parsed output lines."""
    env = {**os.environ, "TELEGRAM_TOKEN": ""}
    data = text.encode() if isinstance(text, str) else text
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--batch", "-"],
        input=data, capture_output=True, cwd=ROOT, env=env, timeout=60, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]


def test_bad_rows_get_an_error_each_and_good_rows_are_answered_as_alone() -> None:
    lines = [json.dumps(GOOD[0]), *BAD_LINES[:4], json.dumps(GOOD[1]), *BAD_LINES[4:]]
    lines.append(json.dumps(GOOD[2]))
    mixed = ask_batch("\n".join(lines) + "\n\n")
    alone = ask_batch("\n".join(json.dumps(row) for row in GOOD) + "\n")
    assert len(mixed) == len(lines)
    answers = [r for r in mixed if "error" not in r]
    assert answers == alone  # same answers, same fields, same order of fields
    assert all(list(r) == KEYS for r in answers)
    errors = [r for r in mixed if "error" in r]
    assert len(errors) == len(BAD_LINES)
    assert all(list(r) == ["q", "error"] and r["error"] for r in errors)
    assert errors[0]["q"] == "hello" and errors[1]["q"] == 42


def test_lone_surrogates_and_bad_bytes_are_replaced_not_fatal() -> None:
    text = b'{"q": "Wuzhou \\ud800 opening hours"}\n' + b'{"q": "Yiwu \xff market"}\n'
    results = ask_batch(text)
    assert [r["q"] for r in results] == ["Wuzhou \ufffd opening hours", "Yiwu \ufffd market"]
    assert [r["topic"] for r in results] == ["wuzhou-ancient-city", "yiwu-trade-city"]


def test_each_result_is_printed_before_the_next_line_is_read() -> None:
    env = {**os.environ, "TELEGRAM_TOKEN": ""}
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "--batch", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env,
    ) as process:  # fmt: skip
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b'{"q": "Shangshan"}\n')
        process.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=30)  # stdin is still open
        first = process.stdout.readline() if ready else b""
        process.stdin.close()
        process.wait(timeout=30)
    assert json.loads(first)["topic"] == "shangshan-site"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('{"q": "x", "lang": 5}', '"lang"'),
        ('{"q": null}', '"q"'),
        ("3", "object"),
        ("{", "not JSON"),
        ('"\\udfff"', None),
    ],
)
def test_batch_row(line: str, error: str | None) -> None:
    row = batch_row(line)
    if error is None:
        assert row == {"q": "\ufffd", "lang": None, "after": None}
    else:
        assert error in row["error"]


def test_clean_text_keeps_real_astral_characters() -> None:
    assert clean_text("😀 \ud83d ok") == "😀 \ufffd ok"


def test_the_batch_file_option_reads_a_file(tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"q": 1}\n{"q": "Shangshan"}\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--batch", str(batch)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
        env={**os.environ, "TELEGRAM_TOKEN": ""},
    )  # fmt: skip
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert ["error" in r for r in rows] == [True, False]
