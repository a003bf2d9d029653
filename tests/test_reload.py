"""The reload suite: /reload refuses a broken knowledge set as a whole, naming file, line
and field, keeps serving the old set, and picks up a good edit of any part (tours too)."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.app import App, build_app
from bot.config import Config
from bot.core.types import Channel, Incoming, Reply
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.model import Answer
from bot.knowledge.service import KnowledgeService
from bot.knowledge.vectors import E5Embedder, Matrix
from tests.conftest import KNOWLEDGE

STAFF = "console:staff-1"
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def say(text: str, user: str = "staff-1") -> Incoming:
    return Incoming(Channel.CONSOLE, user, user, text)


@pytest.fixture
async def kb_app(tmp_path: Path) -> AsyncIterator[App]:
    """The whole bot on its own copy of the shipped knowledge/, which a test may break."""
    kb = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, kb)
    config = replace(
        Config(), knowledge_dir=kb, db_path=str(tmp_path / "bot.sqlite3"),
        exports_dir=tmp_path / "exports", staff_ids=frozenset({STAFF}),
    )  # fmt: skip
    app = await build_app(config)
    yield app
    await app.close()


def kb(app: App) -> Path:
    return app.config.knowledge_dir


def append(path: Path, text: str) -> int:
    """Add lines at the end of a file; the line number of the first one."""
    before = path.read_text(encoding="utf-8")
    path.write_text(before.rstrip("\n") + "\n" + text, encoding="utf-8")
    return before.rstrip("\n").count("\n") + 2


def line_of(path: Path, needle: str) -> int:
    """The number of the first line of a file that holds `needle`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


async def reload_refused(app: App) -> str:
    """/reload as staff: the refusal's text (the old set still serving is checked too)."""
    replies = await app.handle(say("/reload"))
    text = replies[-1].text
    assert text.startswith("The knowledge base has errors; I keep using the previous version:")
    await assert_old_content_serves(app)
    return text


async def assert_old_content_serves(app: App) -> None:
    """A question, /plan and /tours work as before the broken edit."""
    answer = await app.handle(say("What is the Shangshan site?", user="reporter"))
    assert isinstance(answer[-1].meta.get("outcome"), Answer)
    plan = await app.handle(say("/plan", user="planner"))
    payloads = [b.payload for b in plan[-1].buttons]
    assert any("nev-town" in p for p in payloads) and any("shangshan-site" in p for p in payloads)
    tours = await app.handle(say("/tours", user="tourist"))
    assert "Jinhua in a day" in all_text(tours)


def all_text(replies: list[Reply]) -> str:
    return "\n".join([r.text for r in replies] + [b.label for r in replies for b in r.buttons])


async def test_a_new_route_without_travel_times_is_refused(kb_app: App) -> None:
    source = yaml.safe_load((kb(kb_app) / "routes" / "shangshan-site.yaml").read_text())
    source |= {"id": "new-site", "aliases": ["Brand New Test Site"]}
    source["title"] = {lang: f"Brand new site {lang}" for lang in source["title"]}
    (kb(kb_app) / "routes" / "new-site.yaml").write_text(yaml.safe_dump(source, allow_unicode=True))
    text = await reload_refused(kb_app)
    minutes = line_of(kb(kb_app) / "travel.yaml", "minutes:")
    assert f"travel.yaml:{minutes}: minutes: no travel time between" in text
    assert "new-site" in text
    assert re.search(r"…and \d+ more errors\.$", text)  # 10 shown, the rest counted


async def test_a_broken_travel_file_is_refused(kb_app: App) -> None:
    travel = kb(kb_app) / "travel.yaml"
    line = line_of(travel, "- [nev-town, lizu-village")
    travel.write_text(
        travel.read_text().replace("[nev-town, lizu-village, 70,", "[nev-town, lizu-village, soon,")
    )
    text = await reload_refused(kb_app)
    assert f"travel.yaml:{line}: minutes.9: must be [place, place, minutes, source]" in text


async def test_a_travel_file_that_is_not_yaml_is_refused(kb_app: App) -> None:
    line = append(kb(kb_app) / "travel.yaml", "oops: [unclosed\n")
    text = await reload_refused(kb_app)
    assert re.search(rf"travel\.yaml:{line + 1}: \(yaml\): not valid YAML", text), text


async def test_removing_a_route_a_tour_stops_at_is_refused(kb_app: App) -> None:
    (kb(kb_app) / "routes" / "nev-town.yaml").unlink()
    travel = kb(kb_app) / "travel.yaml"  # a careful edit: its travel times removed too
    kept = [line for line in travel.read_text().splitlines() if "nev-town" not in line]
    travel.write_text("\n".join(kept) + "\n")
    text = await reload_refused(kb_app)
    line = line_of(kb(kb_app) / "tours.yaml", "stops: [wuzhou-ancient-city, nev-town")
    assert f"tours.yaml:{line}: tours.0.stops.1: unknown stop 'nev-town'" in text


async def test_deleting_every_topic_folder_is_refused(kb_app: App) -> None:
    for folder in ("routes", "events", "faq"):
        shutil.rmtree(kb(kb_app) / folder)
    text = await reload_refused(kb_app)
    assert "routes:1: (folder): no topic files in routes/, events/, faq/" in text


@pytest.mark.parametrize(
    ("name", "added", "expected"),
    [
        ("facets.yaml", "colour:\n  triggers:\n    en: [red]\n", "colour: unknown facet"),
        ("facets.yaml", "hours:\n  triggers: [open]\n", "hours.triggers: must be a mapping"),
        ("scope.yaml", "other_subjects: 1\nout_of_scope:\n  xx: [a]\n", "out_of_scope.xx: unknown"),
        ("intents.yaml", "dance:\n  en: [dance with me]\n", "dance: unknown intent"),
    ],
)
async def test_broken_facets_scope_and_intents_are_refused_with_line_and_field(
    kb_app: App, name: str, added: str, expected: str
) -> None:
    path = kb(kb_app) / name
    if "hours:\n" in added or "out_of_scope:\n" in added:  # replace the existing block's key
        text = (
            path.read_text()
            .replace("\nhours:\n", "\nhours_old:\n")
            .replace("\nout_of_scope:\n", "\nout_of_scope_old:\n")
        )
        path.write_text(text)
    line = append(path, added)
    text = await reload_refused(kb_app)
    numbers = [int(n) for n in re.findall(rf"{re.escape(name)}:(\d+): ", text)]
    assert expected in text and numbers, text
    assert any(line <= n <= line + 2 for n in numbers), text


async def test_a_recursive_alias_is_refused_with_its_line(kb_app: App) -> None:
    line = append(kb(kb_app) / "intents.yaml", "human_too: &loop [*loop]\n")
    text = await reload_refused(kb_app)
    assert f"intents.yaml:{line}: human_too.0: YAML aliases (*name) are not allowed" in text


async def test_a_billion_laughs_file_is_refused_at_once(kb_app: App) -> None:
    assert len(BILLION_LAUGHS) < 500
    (kb(kb_app) / "faq" / "laughs.yaml").write_text(BILLION_LAUGHS)
    text = await reload_refused(kb_app)
    assert "faq/laughs.yaml:2: b.0: YAML aliases (*name) are not allowed" in text


async def test_a_file_over_the_size_cap_is_refused_unread(kb_app: App) -> None:
    huge = kb(kb_app) / "routes" / "huge.yaml"
    huge.write_text("# padding\n" * 5_000_000)  # 50 MB
    text = await reload_refused(kb_app)
    assert "routes/huge.yaml:1: (file): is 50.0 MB; a knowledge file may be at most 1 MB" in text


async def test_a_good_tours_edit_is_picked_up(kb_app: App) -> None:
    tours = kb(kb_app) / "tours.yaml"
    text = tours.read_text()
    assert "    capacity: 30\n" in text
    text = text.replace("    capacity: 30\n", "    capacity: 31\n", 1)
    text = text.replace("Jinhua in a day:", "Jinhua in one day:", 1)
    tours.write_text(text)
    done = await kb_app.handle(say("/reload"))
    assert done[-1].text.startswith("Knowledge base reloaded:")
    assert kb_app.rsvp.tours["jinhua-heritage-and-industry"].capacity == 31
    listing = await kb_app.handle(say("/tours", user="tourist"))
    assert "Jinhua in one day" in all_text(listing)


async def test_a_good_topic_edit_is_picked_up_after_refusals(kb_app: App) -> None:
    path = kb(kb_app) / "faq" / "laughs.yaml"
    path.write_text(BILLION_LAUGHS)
    await reload_refused(kb_app)
    path.unlink()
    route = kb(kb_app) / "routes" / "shangshan-site.yaml"
    route.write_text(
        route.read_text().replace("- Shangshan\n", "- Shangshan\n  - Rice Dawn Park\n", 1)
    )
    done = await kb_app.handle(say("/reload"))
    assert done[-1].text.startswith("Knowledge base reloaded:")
    answer = await kb_app.handle(say("Rice Dawn Park", user="reporter"))
    found = answer[-1].meta.get("outcome")
    assert isinstance(found, Answer) and found.topic_id == "shangshan-site"


async def test_start_up_refuses_a_broken_set(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, copy)
    (copy / "routes" / "nev-town.yaml").unlink()
    config = Config(knowledge_dir=copy, db_path=str(tmp_path / "bot.sqlite3"))
    with pytest.raises(KnowledgeError) as refused:
        await build_app(config)
    assert any(p.file.name in ("travel.yaml", "tours.yaml") for p in refused.value.errors)


class SlowPassages(E5Embedder):
    """The real model, with passages (a reload's new phrases) made to take a second."""

    def embed(self, texts: Sequence[str], is_query: bool) -> Matrix:
        if not is_query:
            time.sleep(1.0)  # blocking, as a big batch of model calls would be
        return super().embed(texts, is_query)


async def test_others_are_answered_while_a_reload_embeds(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, copy)
    config = Config(
        knowledge_dir=copy, db_path=str(tmp_path / "b.sqlite3"), staff_ids=frozenset({STAFF})
    )
    app = await build_app(config, KnowledgeService(copy, SlowPassages()))
    try:
        route = copy / "routes" / "shangshan-site.yaml"
        route.write_text(route.read_text().replace("answer:\n  en: ", "answer:\n  en: Edited. ", 1))
        reload = asyncio.create_task(app.handle(say("/reload")))
        await asyncio.sleep(0.2)  # the reload is now embedding the edited answer
        started = time.perf_counter()
        answer = await app.handle(say("What is the Shangshan site?", user="reporter"))
        waited = time.perf_counter() - started
        assert not reload.done() and isinstance(answer[-1].meta.get("outcome"), Answer), waited
        assert (await reload)[-1].text.startswith("Knowledge base reloaded:")
        assert app.knowledge.embedded_phrases == 1
    finally:
        await app.close()


async def test_facets_and_scope_naming_a_missing_topic_are_refused(kb_app: App) -> None:
    facets, scope = kb(kb_app) / "facets.yaml", kb(kb_app) / "scope.yaml"
    facets.write_text(
        facets.read_text().replace("default_topic: getting-to-jinhua", "default_topic: gone", 1)
    )
    scope.write_text(scope.read_text().replace("- topic: wuzhou-ancient-city", "- topic: gone", 1))
    text = await reload_refused(kb_app)
    facet_line, scope_line = line_of(facets, "default_topic: gone"), line_of(scope, "topic: gone")
    assert (
        f"facets.yaml:{facet_line}: getting_there.default_topic: no topic has the id 'gone'" in text
    )
    assert f"scope.yaml:{scope_line}: confusables.0.topic: no topic has the id 'gone'" in text
