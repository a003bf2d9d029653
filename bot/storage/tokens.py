"""Platform access tokens kept in the store, so every process and every restart shares one."""

from __future__ import annotations

from bot.storage.database import Database


class SqliteTokenCache:
    """WeChat's access token for one app id (table wechat_tokens); a TokenCache."""

    def __init__(self, db: Database, app_id: str) -> None:
        self.db = db
        self.app_id = app_id

    async def get(self) -> tuple[str, float] | None:
        """The cached (token, expires_at as epoch seconds), or None."""
        row = await self.db.fetchone(
            "SELECT token, expires_at FROM wechat_tokens WHERE app_id = ?", (self.app_id,)
        )
        return (str(row["token"]), float(row["expires_at"])) if row else None

    async def put(self, token: str, expires_at: float) -> None:
        """Remember a fresh token, replacing the old one."""
        await self.db.write(
            "INSERT INTO wechat_tokens (app_id, token, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (app_id) DO UPDATE SET token = excluded.token,"
            " expires_at = excluded.expires_at",
            (self.app_id, token, expires_at),
        )
