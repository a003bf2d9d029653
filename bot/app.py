"""The composition root: config in, one typed object holding every part of the bot out.

The runtime, the CLI, the benches and the tests all build the bot here, so there is one
wiring. Adding a feature means adding its module and one line in `_features`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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
from bot.features.handoff import HandoffFeature, staff_targets
from bot.features.insights import InsightsFeature
from bot.features.intents import IntentDetector
from bot.features.plans import PlansFeature
from bot.features.privacy import PrivacyFeature
from bot.features.rsvp import RsvpFeature
from bot.features.staff import StaffFeature
from bot.i18n import DEFAULT_LANGUAGE, resolve_language, supported
from bot.itinerary.service import ItineraryService
from bot.knowledge.service import KnowledgeService
from bot.knowledge_set import Reloader, companions
from bot.rsvp.service import RsvpService
from bot.staffops.handoffs import HandoffService
from bot.staffops.questions import QuestionsService
from bot.storage import (
    Database,
    SqliteAudit,
    SqliteBookings,
    SqliteBroadcasts,
    SqliteConversations,
    SqliteHandoffs,
    SqliteOutbox,
    SqliteProcessedUpdates,
    SqliteSubscribers,
    SqliteUnanswered,
    SqliteUsage,
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
    handoffs: SqliteHandoffs
    unanswered: SqliteUnanswered
    usage: SqliteUsage
    audit: SqliteAudit


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
    staffops: StaffOps
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
        SqliteHandoffs(db), SqliteUnanswered(db), SqliteUsage(db), SqliteAudit(db, clock),
    )  # fmt: skip


@dataclass(slots=True)
class StaffOps:
    """Handoffs, questions and usage figures: what the staff run the bot with."""

    handoffs: HandoffService
    questions: QuestionsService
    handoff_feature: HandoffFeature
    insights: InsightsFeature

    async def housekeeping(self) -> int:
        """Close quiet handoffs, purge old questions and closed handoffs; closed count."""
        await self.questions.purge()
        await self.handoffs.purge()
        return await self.handoff_feature.close_quiet()


def build_staffops(
    config: Config, knowledge: KnowledgeService, repos: Repositories,
    clock: Callable[[], datetime],
) -> StaffOps:  # fmt: skip
    """The staff-operations services and features on the repositories."""
    quiet = timedelta(minutes=config.handoff_quiet_minutes)
    handoffs = HandoffService(repos.handoffs, clock, quiet, timedelta(days=config.retention_days))
    questions = QuestionsService(repos.usage, repos.unanswered, clock, config.unanswered_days)
    targets = staff_targets(config.staff_chat, config.staff_ids)
    feature = HandoffFeature(handoffs, knowledge, repos.outbox, repos.audit, targets,
                             config.staff_lang)  # fmt: skip
    insights = InsightsFeature(questions, repos.usage, repos.usage, repos.audit, clock)
    return StaffOps(handoffs, questions, feature, insights)


async def build_app(
    config: Config,
    knowledge: KnowledgeService | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> App:
    """Open storage and wire the services and features; `knowledge` may be shared."""
    knowledge = knowledge or KnowledgeService(config.knowledge_dir)
    # The checks of /reload: a broken set stops start-up with its problems (KnowledgeError).
    planner, tours = companions(knowledge.root, knowledge.topics())
    repos = await open_repositories(config.db_path)
    rsvp = RsvpService(repos.bookings, tours, clock, config.book_samples)
    itinerary = ItineraryService(knowledge, clock)
    itinerary.install(planner)
    rsvp_feature = RsvpFeature(
        rsvp, knowledge, repos.outbox, repos.db, clock, config.retention_days, repos.audit
    )
    broadcasts = BroadcastFeature(
        BroadcastService(repos.broadcasts, lambda: clock().timestamp(), config.staff_ids),
        repos.outbox, repos.db, lambda: list(rsvp.tours),
    )  # fmt: skip
    staffops = build_staffops(config, knowledge, repos, clock)
    features = _features(knowledge, repos, itinerary, rsvp_feature, broadcasts, staffops, clock)
    staff_chats = frozenset({config.staff_chat} if config.staff_chat else ())
    dispatcher = Dispatcher(features, config.staff_ids, IntentDetector(knowledge), staff_chats)
    pipeline = Pipeline(dispatcher, repos.conversations, repos.processed, repos.outbox,
                        _language_policy(knowledge), time.time, time.monotonic)  # fmt: skip
    return App(config, repos, knowledge, rsvp, itinerary, dispatcher, pipeline, rsvp_feature,
               broadcasts, staffops)  # fmt: skip


def _features(
    knowledge: KnowledgeService,
    repos: Repositories,
    itinerary: ItineraryService,
    rsvp_feature: RsvpFeature,
    broadcasts: BroadcastFeature,
    staffops: StaffOps,
    clock: Callable[[], datetime],
) -> Sequence[Feature]:
    """Every feature, in the order /help lists their commands."""
    account = AccountFeature(repos.conversations, repos.subscribers)
    return [
        account,
        AskFeature(knowledge, staffops.questions),
        rsvp_feature,
        PlansFeature(itinerary, knowledge),
        StaffFeature(
            knowledge, Reloader(knowledge, itinerary, rsvp_feature.service).reload, repos.audit
        ),
        broadcasts,
        staffops.handoff_feature,
        PrivacyFeature(clock),
        staffops.insights,
        _PersonalRows(repos, staffops.handoff_feature),
    ]


class _PersonalRows:
    """/mydata and /forget for rows no feature of their own owns: the outbox, the audit log
    (a staff member's own actions), and the handoff rows with their forwarded messages."""

    def __init__(self, repos: Repositories, handoffs: HandoffFeature) -> None:
        self.repos = repos
        self.handoffs = handoffs

    def register(self, registry: Registry) -> None:
        """Export and erase hooks only."""
        for rows in (self.repos.outbox, self.repos.audit):
            registry.on_export(rows.export_person)
            registry.on_forget(rows.erase_person)
        self.handoffs.register_privacy(registry, self.repos.handoffs, self.repos.outbox)


def _language_policy(knowledge: KnowledgeService) -> Callable[[Conversation, Incoming], str]:
    def choose(state: Conversation, msg: Incoming) -> str:
        hint = msg.locale_hint if isinstance(msg.locale_hint, str) else None
        if state.form is not None or msg.reply_to or msg.text.lstrip().startswith("/"):
            # A form answer never switches it, nor a command's arguments, nor a reply quoting
            # a message (a staff answer to a handed-off question is in the reporter's language).
            return state.lang or state.last_lang or supported(hint) or DEFAULT_LANGUAGE
        return resolve_language(
            state.lang,
            hint,
            msg.text,
            knowledge.guess_latin_language,
            state.last_lang,
            lambda text: knowledge.guess_latin_language(text, loose=True),
        )

    return choose
