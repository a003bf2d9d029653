"""Configuration from environment variables; secrets never live in the repository."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parent.parent
WECHAT_API_URL = "https://api.weixin.qq.com"
AES_KEY_CHARS = 43  # WeChat's EncodingAESKey: 32 bytes in base64 without the "="


class ConfigError(ValueError):
    """A setting that cannot work; the message names the variable and what is wrong."""


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
    host: str = "0.0.0.0"
    port: int = 8080
    outbox_rate: float = 25.0  # messages a second the outbox sends at most (Telegram: ~30)
    exports_dir: Path = ROOT / "exports"  # where the console writes files it is sent
    wechat_token: str | None = None  # the Official Account's server Token; set = WeChat on
    wechat_app_id: str = ""
    wechat_app_secret: str = ""  # for the access token (pushes, late replies, the menu)
    wechat_aes_key: str | None = None  # the EncodingAESKey; set = safe mode
    wechat_api_url: str = WECHAT_API_URL  # another API base (tests)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Config:
        staff = frozenset(s.strip() for s in env.get("BOT_STAFF_IDS", "").split(",") if s.strip())
        return cls(
            knowledge_dir=Path(env.get("BOT_KNOWLEDGE_DIR", str(ROOT / "knowledge"))),
            db_path=env.get("BOT_DB", str(ROOT / "data" / "bot.sqlite3")),
            staff_ids=staff,
            telegram_token=env.get("TELEGRAM_TOKEN") or None,
            telegram_api_url=env.get("TELEGRAM_API_URL") or None,
            webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            retention_days=int(env.get("BOT_RETENTION_DAYS", "30")),
            host=env.get("HOST", "0.0.0.0"),
            port=int(env.get("PORT", "8080")),
            outbox_rate=float(env.get("BOT_OUTBOX_RATE", "25")),
            exports_dir=Path(env.get("BOT_EXPORTS_DIR", str(ROOT / "exports"))),
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
