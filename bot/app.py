"""The composition root: config in, one typed object holding every part of the bot out.

The runtime, the CLI, the benches and the tests all build the bot here, so there is one
wiring. Adding a feature means adding its module and one line in `_features`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.broadcast.service import BroadcastService
from bot.config import Config
from bot.core.delivery import Sender
from bot.core.dispatcher import Dispatcher, Feature, Registry
from bot.core.outbox import OutboxWorker
from bot.core.pipeline import Pipeline
from bot.core.state import Conversation
from bot.core.types import Channel, Incoming, Reply
from bot.features.account import AccountFeature
from bot.features.ask import AskFeature
from bot.features.broadcast import BroadcastFeature
from bot.features.intents import detect_intent
from bot.features.plans import PlansFeature
from bot.features.rsvp import RsvpFeature
from bot.features.staff import StaffFeature
from bot.i18n import resolve_language
from bot.itinerary.service import ItineraryService
from bot.knowledge.service import KnowledgeService
from bot.rsvp.service import RsvpService
from bot.rsvp.tours import Tour, load_tours
from bot.storage import (
    Database,
    SqliteBookings,
    SqliteBroadcasts,
    SqliteConversations,
    SqliteOutbox,
    SqliteProcessedUpdates,
    SqliteSubscribers,
)

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Repositories:
    """Every repository on the one database."""

    db: Database
    conversations: SqliteConversations
    subscribers: SqliteSubscribers
    processed: SqliteProcessedUpdates
    outbox: SqliteOutbox
    bookings: SqliteBookings
    broadcasts: SqliteBroadcasts


@dataclass(slots=True)
class App:
    """The whole bot: storage, services, features, the pipeline and the outbox."""

    config: Config
    repos: Repositories
    knowledge: KnowledgeService
    rsvp: RsvpService
    itinerary: ItineraryService
    dispatcher: Dispatcher
    pipeline: Pipeline
    rsvp_feature: RsvpFeature
    broadcasts: BroadcastFeature
    senders: dict[Channel, Sender] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        """The database every repository shares."""
        return self.repos.db

    async def handle(self, msg: Incoming) -> list[Reply]:
        """One message through the pipeline, as every channel sends it."""
        return await self.pipeline.handle(msg)

    async def delivered(self, replies: list[Reply]) -> None:
        """Channels report replies that reached the person (see Pipeline.delivered)."""
        await self.pipeline.delivered(replies)

    def outbox_worker(self, senders: dict[Channel, Sender] | None = None) -> OutboxWorker:
        """A worker that delivers the outbox through these senders."""
        self.senders.update(senders or {})
        return OutboxWorker(self.repos.outbox, self.senders, time.time, self.config.outbox_rate)

    async def close(self) -> None:
        """Close the database and its thread."""
        await self.repos.db.close()


async def open_repositories(path: str, clock: Callable[[], float] = time.time) -> Repositories:
    """Open the database and the repositories on it."""
    db = await Database.open(path)
    return Repositories(
        db, SqliteConversations(db, clock), SqliteSubscribers(db, clock),
        SqliteProcessedUpdates(db, clock), SqliteOutbox(db, clock), SqliteBookings(db),
        SqliteBroadcasts(db),
    )  # fmt: skip


def load_tour_table(knowledge: KnowledgeService) -> dict[str, Tour]:
    """The tours of tours.yaml; none (and the errors logged) while the file has errors."""
    tours, problems = load_tours(knowledge.root, {t.id for t in knowledge.topics()})
    if problems:
        log.error("RSVPs disabled, tours.yaml has %d errors", len(problems))
        return {}
    return tours


async def build_app(
    config: Config,
    knowledge: KnowledgeService | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> App:
    """Open storage and wire the services and features; `knowledge` may be shared."""
    knowledge = knowledge or KnowledgeService(config.knowledge_dir)
    repos = await open_repositories(config.db_path)
    rsvp = RsvpService(repos.bookings, load_tour_table(knowledge), clock)
    itinerary = ItineraryService(knowledge, clock)
    rsvp_feature = RsvpFeature(
        rsvp, knowledge, repos.outbox, repos.db, clock, config.retention_days
    )
    broadcasts = BroadcastFeature(
        BroadcastService(repos.broadcasts, lambda: clock().timestamp(), config.staff_ids),
        repos.outbox, repos.db, lambda: list(rsvp.tours),
    )  # fmt: skip
    features = _features(knowledge, repos, itinerary, rsvp_feature, broadcasts)
    dispatcher = Dispatcher(features, config.staff_ids, detect_intent)
    pipeline = Pipeline(dispatcher, repos.conversations, repos.processed, repos.outbox,
                        _language_policy(knowledge), time.time, time.monotonic)  # fmt: skip
    return App(config, repos, knowledge, rsvp, itinerary, dispatcher, pipeline, rsvp_feature,
               broadcasts)  # fmt: skip


def _features(
    knowledge: KnowledgeService,
    repos: Repositories,
    itinerary: ItineraryService,
    rsvp_feature: RsvpFeature,
    broadcasts: BroadcastFeature,
) -> Sequence[Feature]:
    """Every feature, in the order /help lists their commands."""
    account = AccountFeature(repos.conversations, repos.subscribers)
    return [
        account,
        AskFeature(knowledge),
        rsvp_feature,
        PlansFeature(itinerary, knowledge),
        StaffFeature(knowledge),
        broadcasts,
        _OutboxEraser(repos.outbox),
    ]


class _OutboxEraser:
    """/forget also deletes the messages queued for the person."""

    def __init__(self, outbox: SqliteOutbox) -> None:
        self.outbox = outbox

    def register(self, registry: Registry) -> None:
        """Only a /forget hook."""
        registry.on_forget(self.outbox.erase_person)


def _language_policy(knowledge: KnowledgeService) -> Callable[[Conversation, Incoming], str]:
    def choose(state: Conversation, msg: Incoming) -> str:
        if state.form is not None and (state.lang or state.last_lang):
            return state.lang or state.last_lang or "en"  # a form answer never switches it
        hint = msg.locale_hint if isinstance(msg.locale_hint, str) else None
        return resolve_language(
            state.lang, hint, msg.text, knowledge.guess_latin_language, state.last_lang
        )

    return choose
