from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import Config
from bot.knowledge.service import KnowledgeService
from tests.fake_telegram import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
# BOT_TEST_KNOWLEDGE runs the suite against another copy (e.g. staff edits in progress).
KNOWLEDGE = Path(os.environ.get("BOT_TEST_KNOWLEDGE", ROOT / "knowledge"))
FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeService:
    """The real knowledge base, loaded once: tests must pass on what staff ship."""
    return KnowledgeService(KNOWLEDGE)


@pytest.fixture
async def app(tmp_path: Path, knowledge: KnowledgeService) -> AsyncIterator[App]:
    """The whole bot on a real SQLite file, staff = console:staff-1. The shipped tours are
    all samples; these tests book them, so sample booking is switched on deliberately
    (tests/test_staffops.py checks that it is refused when off)."""
    config = replace(
        Config(),
        knowledge_dir=KNOWLEDGE,
        db_path=str(tmp_path / "bot.sqlite3"),
        exports_dir=tmp_path / "exports",
        staff_ids=frozenset({"console:staff-1"}),
        book_samples=True,
    )
    app = await build_app(config, knowledge)
    yield app
    await app.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """A fake Bot API on 127.0.0.1, for real python-telegram-bot to talk to."""
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()
