"""The composition root: config in, one typed object holding every service out."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from bot.config import Config
from bot.core.dispatcher import Dispatcher
from bot.itinerary.flow import PlanFlow
from bot.itinerary.service import ItineraryService
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.service import KnowledgeService
from bot.rsvp.flow import RsvpFlow
from bot.rsvp.service import RsvpService
from bot.rsvp.tours import load_tours
from bot.storage import ConversationStore, SubscriberStore, open_database

log = logging.getLogger(__name__)


@dataclass(slots=True)
class App:
    config: Config
    db: aiosqlite.Connection
    knowledge: KnowledgeService
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.db.close()


def _plan_flow(knowledge: KnowledgeService) -> PlanFlow | None:
    """Day plans, unless the travel table has errors (then /plan says coming soon)."""
    try:
        return PlanFlow(ItineraryService(knowledge, lambda: datetime.now(UTC)), knowledge)
    except KnowledgeError as exc:
        log.error("day plans disabled, travel table has errors: %s", exc)
        return None


def _rsvp_flow(
    knowledge: KnowledgeService, db: aiosqlite.Connection, lock: asyncio.Lock, config: Config
) -> RsvpFlow | None:
    """Media-tour RSVPs, unless tours.yaml has errors (then /tours says coming soon)."""
    tours, problems = load_tours(knowledge.root, {t.id for t in knowledge.topics()})
    if problems:
        log.error("RSVPs disabled, tours.yaml has errors: %s", problems)
        return None
    clock = lambda: datetime.now(UTC)  # noqa: E731
    service = RsvpService(db, tours, clock, lock)
    return RsvpFlow(service, knowledge, clock, config.retention_days)


async def build_app(config: Config, knowledge: KnowledgeService | None = None) -> App:
    """Open storage and wire the services; `knowledge` may be shared between apps."""
    knowledge = knowledge or KnowledgeService(config.knowledge_dir)
    db = await open_database(config.db_path)
    # Every writer on the one connection takes this lock: a transaction belongs to the
    # connection, so one store's commit must never land inside another's transaction.
    write_lock = asyncio.Lock()
    dispatcher = Dispatcher(
        knowledge,
        ConversationStore(db, time.time, write_lock),
        SubscriberStore(db, time.time, write_lock),
        config.staff_ids,
        _plan_flow(knowledge),
        _rsvp_flow(knowledge, db, write_lock, config),
    )
    return App(config, db, knowledge, dispatcher)
