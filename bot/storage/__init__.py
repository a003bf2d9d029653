"""Storage behind the repository protocols: SQLite, the embedded default."""

from bot.storage.bookings import SqliteBookings
from bot.storage.broadcasts import SqliteBroadcasts
from bot.storage.database import Database
from bot.storage.outbox import SqliteOutbox
from bot.storage.people import SqliteConversations, SqliteProcessedUpdates, SqliteSubscribers
from bot.storage.staffops import SqliteAudit, SqliteHandoffs, SqliteUnanswered, SqliteUsage
from bot.storage.tokens import SqliteTokenCache

__all__ = [
    "Database",
    "SqliteAudit",
    "SqliteBookings",
    "SqliteBroadcasts",
    "SqliteConversations",
    "SqliteHandoffs",
    "SqliteOutbox",
    "SqliteProcessedUpdates",
    "SqliteSubscribers",
    "SqliteTokenCache",
    "SqliteUnanswered",
    "SqliteUsage",
]
