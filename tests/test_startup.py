"""Start-up failures: `python -m bot` exits non-zero within seconds, with one line on stderr."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE, ROOT

TIMEOUT_S = 10.0
DEADLINE_S = 5.0
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard: nothing listens there


def run_bot(*args: str, **env: str) -> tuple[int, list[str], float]:
    """`python -m bot ARGS` with a clean environment; exit code, stderr lines, seconds."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    clean |= {"BOT_KNOWLEDGE_DIR": str(KNOWLEDGE), "PORT": str(free_port()), **env}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=clean, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    return result.returncode, result.stderr.splitlines(), time.monotonic() - started


def assert_one_line_failure(outcome: tuple[int, list[str], float], *words: str) -> None:
    code, lines, seconds = outcome
    assert code != 0, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert seconds < DEADLINE_S, seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def good_db(tmp_path: Path) -> Path:
    """A database as the bot leaves it, made by a short offline run."""
    path = tmp_path / "bot.sqlite3"
    assert run_bot("run", BOT_DB=str(path))[0] == 0  # console chat, ends at EOF
    return path


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths added to the list are made read-only, even for root, and restored after."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(0o755)


def make_read_only(paths: list[Path], path: Path) -> None:
    path.chmod(0o555 if path.is_dir() else 0o444)
    paths.append(path)
    if os.geteuid() == 0:  # root ignores modes; the immutable flag binds root too
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr")
        if subprocess.run(["chattr", "+i", str(path)], check=False).returncode != 0:
            pytest.skip("this file system has no immutable flag")


def test_a_corrupt_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(os.urandom(3000))
    assert_one_line_failure(run_bot("run", BOT_DB=str(path)), "BOT_DB", "not a database")


def test_a_truncated_database(tmp_path: Path, good_db: Path) -> None:
    path = tmp_path / "short.sqlite3"
    path.write_bytes(good_db.read_bytes()[:5000])
    assert_one_line_failure(run_bot("run", BOT_DB=str(path)), "BOT_DB", "malformed")


def test_a_read_only_database_file(good_db: Path, read_only: list[Path]) -> None:
    make_read_only(read_only, good_db)
    assert_one_line_failure(run_bot("run", BOT_DB=str(good_db)), "BOT_DB", "readonly")


def test_a_database_in_a_read_only_folder(tmp_path: Path, read_only: list[Path]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    make_read_only(read_only, folder)
    outcome = run_bot("run", BOT_DB=str(folder / "bot.sqlite3"))
    assert_one_line_failure(outcome, "BOT_DB", str(folder))


@pytest.mark.parametrize("mode", [[], ["--webhook"]])
def test_an_unreachable_bot_api(tmp_path: Path, mode: list[str]) -> None:
    outcome = run_bot(
        "run", *mode, BOT_DB=str(tmp_path / "bot.sqlite3"), TELEGRAM_TOKEN="123:abc",
        TELEGRAM_API_URL=CLOSED_PORT_URL, TELEGRAM_WEBHOOK_SECRET="s3cret-Token_1",
    )  # fmt: skip
    assert_one_line_failure(outcome, "Bot API", CLOSED_PORT_URL)
    assert "123:abc" not in outcome[1][0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "x"),
        ("PORT", "70000"),
        ("BOT_RETENTION_DAYS", "abc"),
        ("BOT_RETENTION_DAYS", "-5"),
        ("BOT_STAFF_IDS", "telegram:1,12345"),
        ("BOT_KNOWLEDGE_DIR", "/nonexistent/knowledge"),
    ],
)
def test_a_bad_setting(tmp_path: Path, name: str, value: str) -> None:
    outcome = run_bot("run", **{"BOT_DB": str(tmp_path / "bot.sqlite3"), name: value})
    assert_one_line_failure(outcome, name)


def test_webhook_mode_needs_its_secret(tmp_path: Path) -> None:
    outcome = run_bot(
        "run", "--webhook", BOT_DB=str(tmp_path / "b.sqlite3"), TELEGRAM_TOKEN="123:abc"
    )
    assert_one_line_failure(outcome, "TELEGRAM_WEBHOOK_SECRET")


def test_a_port_already_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        outcome = run_bot(
            "run", "--webhook", BOT_DB=str(tmp_path / "b.sqlite3"), TELEGRAM_TOKEN="123:abc",
            TELEGRAM_WEBHOOK_SECRET="s3cret-Token_1", PORT=port,
        )  # fmt: skip
    assert_one_line_failure(outcome, "PORT", port)
