"""Configuration from environment variables; secrets never live in the repository."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from bot.core.types import Channel

ROOT = Path(__file__).resolve().parent.parent
WECHAT_API_URL = "https://api.weixin.qq.com"
AES_KEY_CHARS = 43  # WeChat's EncodingAESKey: 32 bytes in base64 without the "="
MAX_RETENTION_DAYS = 3650  # ten years; anything longer is a typo, not a policy
# Telegram's own formats: "<bot id>:<secret>" tokens; webhook secrets of 1-256 [A-Za-z0-9_-].
TOKEN_FORMAT = re.compile(r"\d+:[A-Za-z0-9_-]+")
SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")
STAFF_FORMAT = re.compile(r"([a-z]+):(\S+)")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable and what it expects."""


@dataclass(frozen=True, slots=True)
class Config:
    knowledge_dir: Path = ROOT / "knowledge"
    db_path: str = str(ROOT / "data" / "bot.sqlite3")
    staff_ids: frozenset[str] = frozenset()  # "telegram:123456", "console:local"
    telegram_token: str | None = None
    telegram_api_url: str | None = None  # another Bot API server (tests, self-hosted)
    webhook_url: str | None = None  # public https base; /telegram is appended
    webhook_secret: str | None = None  # checked on every webhook call
    retention_days: int = 30  # RSVP details are deleted this many days after the tour
    host: str = "127.0.0.1"  # 0.0.0.0 only behind a proxy or in a container
    port: int = 8080
    outbox_rate: float = 25.0  # messages a second the outbox sends at most (Telegram: ~30)
    exports_dir: Path = ROOT / "exports"  # where the console writes files it is sent
    wechat_token: str | None = None  # the Official Account's server Token; set = WeChat on
    wechat_app_id: str = ""
    wechat_app_secret: str = ""  # for the access token (pushes, late replies, the menu)
    wechat_aes_key: str | None = None  # the EncodingAESKey; set = safe mode
    wechat_api_url: str = WECHAT_API_URL  # another API base (tests)

    staff_chat: str | None = None  # "telegram:-100123": where handoffs go (else each staff id)
    staff_lang: str = "en"  # the language of what the bot writes into the staff chat
    unanswered_days: int = 90  # unanswered questions are kept this long
    handoff_quiet_minutes: int = 120  # a handoff with no message for this long closes
    book_samples: bool = False  # tours marked `sample: true` can be booked (rehearsals, tests)

    def __post_init__(self) -> None:
        """Refuse values no code path may see, however the Config was built."""
        if not 0 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise ConfigError(
                f"BOT_RETENTION_DAYS={self.retention_days}: expected a whole number of days "
                f"from 0 to {MAX_RETENTION_DAYS}"
            )
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"PORT={self.port}: expected a TCP port number from 1 to 65535")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Config:
        """Read and validate the environment; raises ConfigError naming the variable."""
        return cls(
            knowledge_dir=_knowledge_dir(env.get("BOT_KNOWLEDGE_DIR", str(ROOT / "knowledge"))),
            db_path=env.get("BOT_DB", str(ROOT / "data" / "bot.sqlite3")),
            staff_ids=_staff_ids(env.get("BOT_STAFF_IDS", "")),
            telegram_token=_matching(env, "TELEGRAM_TOKEN", TOKEN_FORMAT, "<bot id>:<secret>"),
            telegram_api_url=_url(env, "TELEGRAM_API_URL"),
            webhook_url=_url(env, "TELEGRAM_WEBHOOK_URL"),
            webhook_secret=_matching(
                env, "TELEGRAM_WEBHOOK_SECRET", SECRET_FORMAT, "1-256 of A-Z a-z 0-9 _ -"
            ),
            retention_days=_integer(env, "BOT_RETENTION_DAYS", 30, "a whole number of days"),
            host=env.get("HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_integer(env, "PORT", 8080, "a TCP port number from 1 to 65535"),
            outbox_rate=_rate(env, "BOT_OUTBOX_RATE", 25.0),
            exports_dir=Path(env.get("BOT_EXPORTS_DIR", str(ROOT / "exports"))),
            staff_chat=env.get("BOT_STAFF_CHAT") or None,
            staff_lang=env.get("BOT_STAFF_LANG", "en"),
            unanswered_days=_integer(env, "BOT_UNANSWERED_DAYS", 90, "a whole number of days"),
            handoff_quiet_minutes=_integer(
                env, "BOT_HANDOFF_QUIET_MINUTES", 120, "a whole number of minutes"
            ),
            book_samples=env.get("BOT_BOOK_SAMPLES", "") == "1",
            **_wechat_settings(env),
        )

    @property
    def wechat(self) -> bool:
        """Whether the WeChat Official Account channel is configured."""
        return self.wechat_token is not None

    def __repr__(self) -> str:
        # Never print the token, whatever logs a Config.
        token = "set" if self.telegram_token else "unset"
        return (
            f"Config(knowledge_dir={self.knowledge_dir}, db_path={self.db_path}, "
            f"token={token}, webhook_url={self.webhook_url}, port={self.port}, "
            f"wechat={self.wechat}, wechat_safe_mode={self.wechat_aes_key is not None})"
        )


def _integer(env: Mapping[str, str], name: str, default: int, expected: str) -> int:
    """A whole number from the environment, or the default when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected {expected}") from None


def _staff_ids(raw: str) -> frozenset[str]:
    """`channel:user_id` entries, comma-separated, on channels the bot has."""
    channels = {c.value for c in Channel}
    staff: set[str] = set()
    for entry in filter(None, (s.strip() for s in raw.split(","))):
        match = STAFF_FORMAT.fullmatch(entry)
        if match is None or match[1] not in channels:
            raise ConfigError(
                f"BOT_STAFF_IDS entry {entry!r}: expected channel:user_id with channel one of "
                f"{', '.join(sorted(channels))} (e.g. telegram:123456789)"
            )
        if match[1] == Channel.TELEGRAM and not match[2].isdigit():
            raise ConfigError(f"BOT_STAFF_IDS entry {entry!r}: a Telegram user id is a number")
        staff.add(entry)
    return frozenset(staff)


def _matching(
    env: Mapping[str, str], name: str, form: re.Pattern[str], expected: str
) -> str | None:
    """A secret in its documented format; the value itself never goes into the message."""
    raw = env.get(name, "").strip()
    if raw and form.fullmatch(raw) is None:
        raise ConfigError(f"{name} is malformed: expected {expected}")
    return raw or None


def _url(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL with a host, or None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={raw!r}: expected an http(s) URL such as https://your.host")
    return raw


def _knowledge_dir(raw: str) -> Path:
    """The knowledge folder, which must exist."""
    path = Path(raw)
    if not path.is_dir():
        raise ConfigError(
            f"BOT_KNOWLEDGE_DIR={raw}: no such folder (expected the knowledge folder)"
        )
    return path


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of messages a second, at most 1,000."""
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not 0 < value <= 1000:
        raise ConfigError(f"{name}={raw[:20]}: expected messages a second, from 0.1 to 1000")
    return value


class _WeChatSettings(TypedDict):
    wechat_token: str | None
    wechat_app_id: str
    wechat_app_secret: str
    wechat_aes_key: str | None
    wechat_api_url: str


def _wechat_settings(env: Mapping[str, str]) -> _WeChatSettings:
    """The WECHAT_* variables, checked: a broken key must stop the start, not every push."""
    token = env.get("WECHAT_TOKEN") or None
    app_id = env.get("WECHAT_APP_ID", "")
    aes_key = env.get("WECHAT_AES_KEY") or None
    if token and not app_id:
        raise ConfigError("WECHAT_APP_ID must be set with WECHAT_TOKEN")
    if aes_key is not None:
        check_aes_key(aes_key)
    return {
        "wechat_token": token,
        "wechat_app_id": app_id,
        "wechat_app_secret": env.get("WECHAT_APP_SECRET", ""),
        "wechat_aes_key": aes_key,
        "wechat_api_url": env.get("WECHAT_API_URL") or WECHAT_API_URL,
    }


def check_aes_key(aes_key: str) -> None:
    """ConfigError unless the EncodingAESKey is 43 base64 characters making 32 bytes."""
    problem = f"WECHAT_AES_KEY must be the 43-character EncodingAESKey (got {len(aes_key)})"
    if len(aes_key) != AES_KEY_CHARS:
        raise ConfigError(problem)
    try:
        key = base64.b64decode(aes_key + "=", validate=True)
    except binascii.Error:
        raise ConfigError("WECHAT_AES_KEY is not base64 (letters, digits, + and /)") from None
    if len(key) != 32:
        raise ConfigError(problem)
