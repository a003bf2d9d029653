"""Config.from_env refuses unusable values with a message naming the variable."""

from __future__ import annotations

import pytest

from bot.config import Config, ConfigError
from tests.conftest import KNOWLEDGE

BASE = {"BOT_KNOWLEDGE_DIR": str(KNOWLEDGE)}


def from_env(**env: str) -> Config:
    return Config.from_env({**BASE, **env})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "x"),
        ("PORT", "70000"),
        ("PORT", "0"),
        ("BOT_RETENTION_DAYS", "abc"),
        ("BOT_RETENTION_DAYS", "-1"),
        ("BOT_RETENTION_DAYS", "99999"),
        ("BOT_STAFF_IDS", "telegram:1,12345"),
        ("BOT_STAFF_IDS", "telgram:12345"),
        ("BOT_STAFF_IDS", "telegram:@alice"),
        ("BOT_STAFF_IDS", "telegram:"),
        ("BOT_KNOWLEDGE_DIR", "/nonexistent/knowledge"),
        ("TELEGRAM_TOKEN", "not a token"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces and ü"),
        ("TELEGRAM_WEBHOOK_URL", "bot.example.org"),
        ("TELEGRAM_API_URL", "ftp://127.0.0.1"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as caught:
        from_env(**{name: value})
    assert "expected" in str(caught.value) or "number" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_secrets_never_appear_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        from_env(TELEGRAM_TOKEN="123:abc def")
    assert "abc def" not in str(caught.value)


def test_good_values_are_read() -> None:
    config = from_env(
        PORT="9000",
        BOT_RETENTION_DAYS="0",
        BOT_STAFF_IDS=" telegram:42 , console:local,",
        TELEGRAM_TOKEN="123:abc-DEF_9",
        TELEGRAM_WEBHOOK_SECRET="s3cret-Token_1",
        TELEGRAM_WEBHOOK_URL="https://bot.example.org",
    )
    assert (config.port, config.retention_days) == (9000, 0)
    assert config.staff_ids == {"telegram:42", "console:local"}


def test_defaults_listen_on_loopback_only() -> None:
    config = from_env()
    assert (config.host, config.port, config.retention_days) == ("127.0.0.1", 8080, 30)
    assert Config().host == "127.0.0.1"


def test_a_negative_retention_cannot_be_built_at_all() -> None:
    # The purge deletes tours older than this many days: negative would mean future tours.
    with pytest.raises(ConfigError, match="BOT_RETENTION_DAYS"):
        Config(retention_days=-30)
