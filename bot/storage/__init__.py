"""Storage behind the repository protocols: SQLite, the embedded default."""

from bot.storage.bookings import SqliteBookings
from bot.storage.broadcasts import SqliteBroadcasts
from bot.storage.database import Database
from bot.storage.outbox import SqliteOutbox
from bot.storage.people import SqliteConversations, SqliteProcessedUpdates, SqliteSubscribers
from bot.storage.tokens import SqliteTokenCache

__all__ = [
    "Database",
    "SqliteBookings",
    "SqliteBroadcasts",
    "SqliteConversations",
    "SqliteOutbox",
    "SqliteProcessedUpdates",
    "SqliteSubscribers",
    "SqliteTokenCache",
]
