"""Day plans: every plan's arithmetic, opening hours, lunch, optimality and calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise, permutations

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.plan_render import plan_reply
from bot.i18n import translator
from bot.itinerary.planner import DAY_END, LUNCH_FROM, LUNCH_MINUTES, DayPlan
from bot.itinerary.service import SHANGHAI, ItineraryService
from bot.knowledge.service import KnowledgeService

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def service() -> ItineraryService:
    from tests.conftest import KNOWLEDGE

    return ItineraryService(KnowledgeService(KNOWLEDGE), lambda: NOW)


def check_plan(plan: DayPlan, service: ItineraryService, requested: list[str]) -> None:
    """Times add up exactly, hours are kept, lunch fits, nothing is lost."""
    sites = service.planner.sites
    assert {s.site_id for s in plan.stops} | {s.site_id for s in plan.skipped} == set(requested)
    clock, here = plan.start, plan.start_place
    for stop in plan.stops:
        if plan.lunch and plan.lunch[0] == clock:
            clock = plan.lunch[1]
        travel = service.planner.travel.between(here, stop.site_id)
        assert stop.travel_minutes == travel
        assert stop.arrive == clock + timedelta(minutes=travel)
        visit = sites[stop.site_id].visit_minutes
        assert stop.leave - stop.arrive == timedelta(minutes=visit + stop.wait_minutes)
        hours = sites[stop.site_id].opening_hours
        if hours and hours.kind == "hours":
            begin = stop.leave - timedelta(minutes=visit)
            assert plan.day.weekday() in hours.days
            assert begin.hour * 60 + begin.minute >= hours.open_minute
            assert stop.leave.hour * 60 + stop.leave.minute <= hours.close_minute
        assert stop.leave.time() <= DAY_END
        clock, here = stop.leave, stop.site_id
    if plan.lunch:
        start, end = plan.lunch
        assert end - start == timedelta(minutes=LUNCH_MINUTES)
        assert start.time() >= LUNCH_FROM
        assert all(s.leave <= start or s.arrive >= end for s in plan.stops)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    day=st.dates(date(2026, 12, 1), date(2027, 6, 30)),
    start=st.sampled_from([time(7, 30), time(8, 0), time(9, 0), time(10, 30), time(13, 0)]),
)
def test_every_plan_adds_up(
    service: ItineraryService, data: st.DataObject, day: date, start: time
) -> None:
    chosen = data.draw(
        st.lists(st.sampled_from(service.sites), min_size=1, max_size=7, unique=True)
    )
    place = data.draw(st.sampled_from(service.start_places))
    plan = service.plan(chosen, day, place, start)
    check_plan(plan, service, chosen)


def test_order_is_the_least_driving_when_everything_fits(service: ItineraryService) -> None:
    sites = ["yiwu-trade-city", "jimingshan-community", "lizu-village"]
    plan = service.plan(sites, date(2026, 12, 2), "yiwu-airport", time(8, 0))
    assert not plan.skipped
    between = service.planner.travel.between

    def driving(order: tuple[str, ...]) -> int:
        stops = ("yiwu-airport", *order)
        return sum(between(a, b) for a, b in pairwise(stops))

    assert plan.travel_minutes == min(driving(p) for p in permutations(sites))


def test_closed_day_is_reported_not_planned(service: ItineraryService) -> None:
    monday = date(2026, 11, 30)
    plan = service.plan(["shangshan-site", "lizu-village"], monday, "yiwu-centre", time(9, 0))
    assert [(s.site_id, s.reason) for s in plan.skipped] == [("shangshan-site", "closed")]
    assert [s.site_id for s in plan.stops] == ["lizu-village"]


def test_a_full_day_says_what_does_not_fit(service: ItineraryService) -> None:
    plan = service.plan(service.sites, date(2026, 12, 2), "jinhua-centre", time(9, 0))
    assert plan.skipped and len(plan.stops) + len(plan.skipped) == 7
    text = plan_reply(plan, service.planner, translator("en"), service.clock()).text
    assert "Not included" in text


def test_early_arrival_waits_for_opening(service: ItineraryService) -> None:
    plan = service.plan(["shangshan-site"], date(2026, 12, 2), "yiwu-airport", time(7, 30))
    [stop] = plan.stops
    assert stop.wait_minutes > 0
    assert stop.leave == datetime(2026, 12, 2, 11, 0, tzinfo=SHANGHAI)


def test_reply_has_links_taxi_card_and_a_calendar_in_the_users_language(
    service: ItineraryService,
) -> None:
    plan = service.plan(
        ["shangshan-site", "yiwu-trade-city"], date(2026, 12, 2), "yiwu-airport", time(8, 30)
    )
    reply = plan_reply(plan, service.planner, translator("ru"), service.clock())
    assert "uri.amap.com" in reply.text and "openstreetmap.org" in reply.text
    assert "上山考古遗址公园" in reply.text and "shàng shān" in reply.text
    assert "декабря" in reply.text  # Babel date in Russian
    assert reply.attachment is not None and reply.attachment.filename.endswith(".ics")
    parsed = icalendar.Calendar.from_ical(reply.attachment.content)
    events = [c for c in parsed.walk() if c.name == "VEVENT"]
    assert len(events) == len(plan.stops)
    for event, stop in zip(events, plan.stops, strict=True):
        start = event.decoded("DTSTART")
        assert start == stop.arrive and start.utcoffset() == timedelta(hours=8)
        assert event.decoded("DTEND") == stop.leave


def test_unknown_site_or_too_many_sites_are_refused(service: ItineraryService) -> None:
    with pytest.raises(ValueError, match="unknown place"):
        service.plan(["atlantis"], date(2026, 12, 2), "yiwu-airport", time(9, 0))
    with pytest.raises(ValueError, match="between 1 and 8"):
        service.plan([], date(2026, 12, 2), "yiwu-airport", time(9, 0))


def test_missing_travel_pair_is_reported_by_kb_check(tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    from bot.itinerary.travel import load_travel
    from bot.knowledge.loader import load_topics
    from tests.conftest import KNOWLEDGE

    root = Path(str(tmp_path)) / "kb"
    shutil.copytree(KNOWLEDGE, root)
    travel = root / "travel.yaml"
    lines = [
        line
        for line in travel.read_text().splitlines()
        if "lizu-village, shangshan-site" not in line
    ]
    travel.write_text("\n".join(lines) + "\n")
    problems = load_travel(root, load_topics(root)).problems
    assert [p.message for p in problems] == [
        "no travel time between lizu-village and shangshan-site"
    ]


def test_travel_table_matches_its_json_schema() -> None:
    import json

    import jsonschema
    import yaml
    from referencing import Registry, Resource

    from tests.conftest import KNOWLEDGE

    topic = json.loads((KNOWLEDGE / "schema.json").read_text(encoding="utf-8"))
    travel = json.loads((KNOWLEDGE / "travel.schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(topic["$id"], Resource.from_contents(topic))
    validator = jsonschema.Draft202012Validator(travel, registry=registry)
    validator.validate(yaml.safe_load((KNOWLEDGE / "travel.yaml").read_text(encoding="utf-8")))
    bad = {"start_places": {}, "minutes": [["a", "b", "ten", "estimate"]]}
    assert not validator.is_valid(bad)


@pytest.mark.parametrize(
    "request_text",
    [
        "plan a day at Wuzhou Ancient City and the Shangshan site",
        "I have one day, what can I film?",
        "帮我规划一天的行程",
        "Je voudrais planifier une journée de tournage",
        "Quiero planear un día de rodaje",
        "Помогите спланировать день съёмок",
        "أريد خطة ليوم تصوير",
        "Quero planejar um dia de filmagem",
        "Nisaidie ratiba ya siku moja",
    ],
)
async def test_planning_requests_are_recognised_in_every_language(
    app: object, request_text: str
) -> None:
    from bot.core.types import Channel, Incoming

    replies = await app.handle(Incoming(Channel.CONSOLE, "p", "p", request_text))  # type: ignore[attr-defined]
    assert "plan:v1:done" in [b.payload for b in replies[-1].buttons]
