"""The composition root: config in, one typed object holding every service out."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from bot.config import Config
from bot.core.dispatcher import Dispatcher
from bot.knowledge.service import KnowledgeService
from bot.storage import ConversationStore, SubscriberStore, open_database


@dataclass(slots=True)
class App:
    config: Config
    db: aiosqlite.Connection
    knowledge: KnowledgeService
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.db.close()


async def build_app(config: Config, knowledge: KnowledgeService | None = None) -> App:
    """Open storage and wire the services; `knowledge` may be shared between apps."""
    knowledge = knowledge or KnowledgeService(config.knowledge_dir)
    db = await open_database(config.db_path)
    dispatcher = Dispatcher(
        knowledge,
        ConversationStore(db, time.time),
        SubscriberStore(db, time.time),
        config.staff_ids,
    )
    return App(config, db, knowledge, dispatcher)
