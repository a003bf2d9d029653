"""Configuration from environment variables; secrets never live in the repository."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    staff_chat: str | None = None  # "telegram:-100123": where handoffs go (else each staff id)
    staff_lang: str = "en"  # the language of what the bot writes into the staff chat
    unanswered_days: int = 90  # unanswered questions are kept this long
    handoff_quiet_minutes: int = 120  # a handoff with no message for this long closes
    book_samples: bool = False  # tours marked `sample: true` can be booked (rehearsals, tests)

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
            staff_chat=env.get("BOT_STAFF_CHAT") or None,
            staff_lang=env.get("BOT_STAFF_LANG", "en"),
            unanswered_days=int(env.get("BOT_UNANSWERED_DAYS", "90")),
            handoff_quiet_minutes=int(env.get("BOT_HANDOFF_QUIET_MINUTES", "120")),
            book_samples=env.get("BOT_BOOK_SAMPLES", "") == "1",
        )

    def __repr__(self) -> str:
        # Never print the token, whatever logs a Config.
        token = "set" if self.telegram_token else "unset"
        return (
            f"Config(knowledge_dir={self.knowledge_dir}, db_path={self.db_path}, "
            f"token={token}, webhook_url={self.webhook_url}, port={self.port})"
        )
