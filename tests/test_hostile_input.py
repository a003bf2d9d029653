"""Input a person (or a forged update) can send never ends in an apology, an exception or
silence: named cases from the reliability issue, then generated text and button presses."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App, build_app
from bot.config import Config
from bot.core.types import Channel, Incoming, Reply
from bot.i18n import LANGUAGES, translator
from tests.conftest import KNOWLEDGE

APOLOGIES = {translator(lang).gettext("Sorry, something went wrong on my side. Please try again.")
             for lang in LANGUAGES}  # fmt: skip
NAMED = [
    "²", "①", "٣", "9" * 4301, "/language EN", "/language zh-Hans", "/LANGUAGE fr", "\ud800",
    "Shangshan \udfff site", "\x00\x01\x1b[2J", "\u202e\u200f مرحبا", "🙂" * 50, "   ", "",
    "/start " + "topic_" * 40, "/start tour_nope", "/plan " + "Wuzhou " * 500, "a" * 20_000,
    "/checkin", "/rsvps\tjinhua-heritage-and-industry", "/export", "１２", "9999-12-31",
]  # fmt: skip
PRESS_KINDS = ["plan", "rsvp", "topic", "menu", "lang", "zzz"]


class Harness:
    """One bot on a real SQLite file and its own event loop, shared by many examples."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        config = Config(knowledge_dir=KNOWLEDGE, db_path=str(folder / "hostile.sqlite3"),
                        staff_ids=frozenset(f"console:staff-{n}" for n in range(200)))  # fmt: skip
        self.app: App = self.loop.run_until_complete(build_app(config))
        self.users = itertools.count()

    def say(self, user: str, text: str = "", payload: str | None = None) -> list[Reply]:
        msg = Incoming(Channel.CONSOLE, user, user, text, payload)
        return self.loop.run_until_complete(self.app.handle(msg))

    def close(self) -> None:
        self.loop.run_until_complete(self.app.close())
        self.loop.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    opened = Harness(tmp_path_factory.mktemp("hostile"))
    yield opened
    opened.close()


def assert_answered(replies: list[Reply]) -> None:
    """Something was said, and it was not the apology."""
    assert replies, "no reply at all"
    assert all(r.text.strip() for r in replies), "an empty reply"
    assert not APOLOGIES & {r.text for r in replies}, "an apology caused by input alone"


@pytest.mark.parametrize("text", NAMED, ids=range(len(NAMED)))
def test_named_inputs_are_answered(
    harness: Harness, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    for user in ("visitor", "staff"):
        assert_answered(harness.say(f"{user}-{next(harness.users)}", text))
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_plan_form_survives_far_dates_and_stray_buttons(harness: Harness) -> None:
    user = f"planner-{next(harness.users)}"
    steps = [("/plan", None), ("", "plan:v1:site:shangshan-site"), ("", "plan:v1:done"),
             ("9999-12-31", None), ("0001-01-01", None), ("", "plan:v1:at:99:99"),
             ("", "plan:v1:day:9999-12-31"), ("", "plan:v1:from:nowhere"),
             ("", "rsvp:v1:jinhua-heritage-and-industry:consent"), ("25:61", None)]  # fmt: skip
    for text, payload in steps:
        assert_answered(harness.say(user, text, payload))


payloads = st.builds(
    lambda kind, args: ":".join([kind, "v1", *args]),
    st.sampled_from(PRESS_KINDS),
    st.lists(st.text(min_size=0, max_size=12), max_size=4),
)
messages = st.one_of(
    st.text(max_size=300).map(lambda t: (t, None)),
    payloads.map(lambda p: ("", p)),
    st.sampled_from(NAMED[:12]).map(lambda t: (t, None)),
    st.integers(-5, 10**6).map(lambda n: (str(n), None)),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(messages, min_size=1, max_size=8))
def test_generated_conversations_are_always_answered(
    harness: Harness, conversation: list[tuple[str, str | None]]
) -> None:
    user = f"gen-{next(harness.users)}"  # a fresh person: the flood guard stays out of it
    for text, payload in conversation:
        assert_answered(harness.say(user, text, payload))
