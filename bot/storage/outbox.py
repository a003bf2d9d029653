"""The SQLite outbox: one row per message sent outside a reply, claimed before sending."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from bot.core.delivery import Delivery, SendResult
from bot.core.repositories import Outgoing, Queued
from bot.core.types import Attachment, Button, Channel, Location, Reply
from bot.storage.database import Database

# Passing faults are retried this many times, waiting longer each time, then 'failed'.
MAX_ATTEMPTS = 5
BACKOFF_S = (5.0, 30.0, 120.0, 600.0)

# Other kinds before broadcasts (the index outbox_due has this order, so no sort), and
# whether a broadcast row's recipient has unsubscribed since it was queued.
CLAIM_SQL = (
    "SELECT o.*, (b.subscribers_only = 1 AND s.user_id IS NULL) AS unsubscribed"
    " FROM outbox AS o LEFT JOIN broadcasts AS b ON b.id = o.broadcast_id"
    " LEFT JOIN subscribers AS s ON s.channel = o.channel AND s.user_id = o.user_id"
    " WHERE o.status = 'pending' AND o.due_at <= ?{lane}"
    " ORDER BY o.kind = 'broadcast', o.due_at, o.id LIMIT ?"
)
UNSUBSCRIBE_SQL = (
    "DELETE FROM subscribers WHERE (channel, user_id) IN"
    " (SELECT channel, user_id FROM outbox WHERE id = ?)"
)


class SqliteOutbox:
    """Messages waiting to be sent, being sent, and how each send ended."""

    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    async def enqueue(self, messages: Sequence[Outgoing]) -> int:
        """Queue messages in the caller's transaction (or a new one); how many new."""
        added, now = 0, self.clock()
        async with self.db.transaction() as tx:
            for m in messages:
                cursor = await tx.execute(
                    "INSERT OR IGNORE INTO outbox (channel, chat_id, user_id, kind, key, reply,"
                    " due_at, created_at, broadcast_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (m.channel.value, m.chat_id, m.user_id, m.kind, m.key, dump_reply(m.reply),
                     now + m.delay_s if m.due_at is None else m.due_at, now, m.broadcast_id),
                )  # fmt: skip
                added += cursor.rowcount
        return added

    async def claim(self, now: float, limit: int, broadcasts: bool = True) -> list[Queued]:
        """Mark up to `limit` due messages as 'sending': other kinds first, then oldest
        first. A broadcast row whose recipient unsubscribed since is 'skipped' instead."""
        lane = "" if broadcasts else " AND o.kind != 'broadcast'"
        async with self.db.transaction() as tx:
            async with tx.execute(CLAIM_SQL.format(lane=lane), (now, limit)) as cursor:
                rows = list(await cursor.fetchall())
            await tx.executemany(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                [(row["id"],) for row in rows if not row["unsubscribed"]],
            )
            await tx.executemany(
                "UPDATE outbox SET status = 'skipped', reason = 'unsubscribed', finished_at = ?"
                " WHERE id = ?", [(now, row["id"]) for row in rows if row["unsubscribed"]],
            )  # fmt: skip
        return [_queued(row) for row in rows if not row["unsubscribed"]]

    async def release(self, items: Sequence[Queued], due_at: float) -> None:
        """Put claimed, unsent messages back as pending; the claim costs no attempt."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE outbox SET status = 'pending', attempts = attempts - 1, due_at = ?"
                " WHERE id = ? AND status = 'sending'", [(due_at, i.id) for i in items],
            )  # fmt: skip

    async def finish(self, item: Queued, result: SendResult, now: float) -> None:
        """Record how the send ended; a retry is due again after its wait."""
        status, due = str(result.status), now
        if result.status is Delivery.RETRY:
            if item.attempts >= MAX_ATTEMPTS:
                status = str(Delivery.FAILED)
            else:
                status = "pending"
                # A wait the platform gave (a 429) is exact; faults without one back off.
                backoff = BACKOFF_S[min(item.attempts, len(BACKOFF_S)) - 1]
                due = now + (result.retry_after or backoff)
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET status = ?, due_at = ?, reason = ?, finished_at = ?"
                " WHERE id = ?", (status, due, result.reason[:200], now, item.id),
            )  # fmt: skip
            if result.status is Delivery.BLOCKED:  # they blocked the bot: never again
                await tx.execute(UNSUBSCRIBE_SQL, (item.id,))

    async def settle(self, keys: Sequence[str]) -> int:
        """Queued copies whose reply was delivered directly: never send them."""
        settled = 0
        for key in keys:
            settled += await self.db.write(
                "UPDATE outbox SET status = 'sent', reason = 'delivered as a reply',"
                " finished_at = ? WHERE key = ? AND status = 'pending'", (self.clock(), key),
            )  # fmt: skip
        return settled

    async def recover(self) -> int:
        """After a restart, messages left 'sending' are due again (at least once)."""
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE outbox SET status = 'pending' WHERE status = 'sending'"
            )
        return cursor.rowcount

    async def counts(self) -> dict[str, int]:
        """Messages by status."""
        rows = await self.db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in rows}

    async def export_person(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Messages queued for the person."""
        rows = await self.db.fetchall(
            "SELECT * FROM outbox WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return {"outbox": [dict(r) for r in rows]}

    async def erase_person(self, channel: str, user_id: str) -> None:
        """Delete every message queued for or sent to the person."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM outbox WHERE channel = ? AND user_id = ?", (channel, user_id)
            )

    async def export_keyed(self, prefix: str) -> dict[str, list[dict[str, Any]]]:
        """Messages whose key starts with `prefix`: ones about a person sent to someone else
        (a handoff forwarded to the staff chat)."""
        rows = await self.db.fetchall(
            "SELECT * FROM outbox WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return {"outbox": [dict(r) for r in rows]}

    async def erase_keyed(self, prefix: str) -> None:
        """Delete the messages whose key starts with `prefix`."""
        await self.db.write("DELETE FROM outbox WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))


def _queued(row: sqlite3.Row) -> Queued:
    return Queued(
        int(row["id"]), Channel(row["channel"]), str(row["chat_id"]), load_reply(row["reply"]),
        str(row["kind"]), int(row["attempts"]) + 1,  # this claim is one more attempt
    )  # fmt: skip


def dump_reply(reply: Reply) -> str:
    """A reply as JSON, its text frozen at the moment it is queued."""
    item = reply.attachment
    return json.dumps(
        {
            "text": reply.text,
            "lang": reply.lang,
            "buttons": [[b.label, b.payload] for b in reply.buttons],
            "location": list(vars_of(reply.location)) if reply.location else None,
            "attachment": [item.filename, base64.b64encode(item.content).decode(), item.mime_type]
            if item
            else None,
        },
        ensure_ascii=False,
    )


def vars_of(where: Location) -> tuple[float, float, str, str]:
    """A location's fields in order."""
    return (where.lat, where.lon, where.title, where.address)


def load_reply(stored: str) -> Reply:
    """The reply a row holds."""
    data = json.loads(stored)
    item = data.get("attachment")
    return Reply(
        data["text"],
        data["lang"],
        tuple(Button(label, payload) for label, payload in data["buttons"]),
        Location(*data["location"]) if data.get("location") else None,
        Attachment(item[0], base64.b64decode(item[1]), item[2]) if item else None,
    )
