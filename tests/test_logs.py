"""Logs are JSON lines and never contain a secret, wherever it appears in a record."""

from __future__ import annotations

import json
import logging

import pytest

from bot import logs

TOKEN = "123456:AAE-very-secret-token"


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.NOTSET)


def test_token_is_redacted_from_messages_and_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure([TOKEN, None, "hook-secret"])
    log = logging.getLogger("bot.test")
    log.warning("POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    log.error("secret %s in %s", "hook-secret", {"token": TOKEN})
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/x", TOKEN)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2  # the HTTP client's request lines are muted
    entries = [json.loads(line) for line in lines]
    assert all(TOKEN not in line and "hook-secret" not in line for line in lines)
    assert entries[0]["msg"] == f"POST https://api.telegram.org/bot{logs.REDACTED}/getUpdates"
    assert entries[1]["level"] == "error"
