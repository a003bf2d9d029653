"""SQLite repositories for conversation state, subscriptions and handled updates."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from bot.core.state import Conversation, FormState
from bot.core.types import Channel
from bot.storage.database import Database

# Handled delivery ids are kept this long: platforms redeliver within minutes, not days.
PROCESSED_KEEP_S = 7 * 24 * 3600


class _Repository:
    """A repository on the shared database, with the clock it stamps rows with."""

    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    async def _rows_of(self, table: str, channel: str, user_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            f"SELECT * FROM {table} WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return [dict(row) for row in rows]

    async def _delete_of(self, table: str, channel: str, user_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                f"DELETE FROM {table} WHERE channel = ? AND user_id = ?", (channel, user_id)
            )


class SqliteConversations(_Repository):
    """Conversation state per (channel, user)."""

    async def get(self, channel: str, user_id: str) -> Conversation:
        """The saved state, or a fresh one."""
        row = await self.db.fetchone(
            "SELECT * FROM conversations WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return _conversation(row) if row else Conversation(channel, user_id)

    async def save(self, state: Conversation) -> None:
        """Insert or update the state."""
        await self.db.write(
            "INSERT INTO conversations (channel, user_id, lang, last_lang, last_topic,"
            " choices, form, last_facet, last_question, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, user_id)"
            " DO UPDATE SET lang = excluded.lang, last_lang = excluded.last_lang,"
            " last_topic = excluded.last_topic, choices = excluded.choices,"
            " form = excluded.form, last_facet = excluded.last_facet,"
            " last_question = excluded.last_question, updated_at = excluded.updated_at",
            _conversation_values(state, self.clock()),
        )

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """The person's conversation row."""
        return {"conversations": await self._rows_of("conversations", channel, user_id)}

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete the person's conversation row."""
        await self._delete_of("conversations", channel, user_id)


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        row["channel"], row["user_id"], row["lang"], row["last_lang"], row["last_topic"],
        tuple(json.loads(row["choices"])), _form(row["form"]), row["last_facet"],
        row["last_question"], float(row["updated_at"]),
    )  # fmt: skip


def _form(stored: str | None) -> FormState | None:
    """A saved form; one saved by an older version (no `data`) is dropped."""
    value = json.loads(stored) if stored else None
    if not isinstance(value, dict) or not isinstance(value.get("data"), dict):
        return None
    return FormState(str(value["kind"]), str(value["step"]), value["data"])


def _conversation_values(state: Conversation, now: float) -> tuple[object, ...]:
    form = state.form
    stored_form = (
        json.dumps({"kind": form.kind, "step": form.step, "data": form.data}, ensure_ascii=False)
        if form
        else None
    )
    return (
        state.channel, state.user_id, state.lang, state.last_lang, state.last_topic,
        json.dumps(list(state.choices)), stored_form, state.last_facet, state.last_question,
        state.updated_at or now,
    )  # fmt: skip


class SqliteSubscribers(_Repository):
    """Who receives the centre's announcements, and in which language."""

    async def subscribe(self, channel: str, user_id: str, chat_id: str, lang: str) -> bool:
        """Subscribe, or update the language of a subscription; True if it is new."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE subscribers SET lang = ?, chat_id = ? WHERE channel = ? AND user_id = ?",
                (lang, chat_id, channel, user_id),
            )
            if cursor.rowcount:
                return False
            await tx.execute(
                "INSERT INTO subscribers (channel, user_id, chat_id, lang, subscribed_at)"
                " VALUES (?, ?, ?, ?, ?)", (channel, user_id, chat_id, lang, self.clock()),
            )  # fmt: skip
        return True

    async def unsubscribe(self, channel: str, user_id: str) -> bool:
        """Unsubscribe; True if there was a subscription."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM subscribers WHERE channel = ? AND user_id = ?", (channel, user_id)
            )
        return cursor.rowcount > 0

    async def count(self) -> int:
        """How many people are subscribed."""
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM subscribers")
        return int(row["n"]) if row else 0

    async def is_subscribed(self, channel: str, user_id: str) -> bool:
        """Whether the person receives the announcements."""
        row = await self.db.fetchone(
            "SELECT 1 FROM subscribers WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return row is not None

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """The person's subscription row."""
        return {"subscribers": await self._rows_of("subscribers", channel, user_id)}

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete the person's subscription."""
        await self._delete_of("subscribers", channel, user_id)


class SqliteProcessedUpdates(_Repository):
    """Platform delivery ids already handled, shared by every process on the file."""

    async def first_time(self, channel: Channel, key: str) -> bool:
        """Record the id; False if any process recorded it before."""
        added = await self.db.write(
            "INSERT OR IGNORE INTO processed_updates (channel, key, seen_at) VALUES (?, ?, ?)",
            (channel.value, key[:200], self.clock()),
        )
        return added > 0

    async def prune(self) -> int:
        """Forget ids older than a week; how many were forgotten."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM processed_updates WHERE seen_at < ?",
                (self.clock() - PROCESSED_KEEP_S,),
            )
        return cursor.rowcount
