"""Storage behind the repository protocols: SQLite, the embedded default."""

from bot.storage.bookings import SqliteBookings
from bot.storage.database import Database
from bot.storage.outbox import SqliteOutbox
from bot.storage.people import SqliteConversations, SqliteProcessedUpdates, SqliteSubscribers
from bot.storage.staffops import SqliteAudit, SqliteHandoffs, SqliteUnanswered, SqliteUsage

__all__ = [
    "Database",
    "SqliteAudit",
    "SqliteBookings",
    "SqliteConversations",
    "SqliteHandoffs",
    "SqliteOutbox",
    "SqliteProcessedUpdates",
    "SqliteSubscribers",
    "SqliteUnanswered",
    "SqliteUsage",
]
