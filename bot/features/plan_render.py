"""A day plan as text in the user's language, with map links, taxi cards and a calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_date, format_time
from pypinyin import Style, lazy_pinyin

from bot.core.types import Attachment, Reply
from bot.geo import amap_link, osm_link
from bot.i18n import Translator
from bot.itinerary.ics import Event, calendar
from bot.itinerary.planner import DayPlan, Planner, Stop
from bot.itinerary.travel import StartPlace


def place_name(planner: Planner, place_id: str, lang: str) -> str:
    topic = planner.sites.get(place_id)
    if topic is not None:
        return topic.name(lang)
    start: StartPlace = planner.travel.start_places[place_id]
    return start.name.get(lang) or start.name["en"]


def _hm(moment: datetime, t: Translator) -> str:
    return str(format_time(moment, "short", locale=t.locale))


def plan_reply(plan: DayPlan, planner: Planner, t: Translator, stamp: datetime) -> Reply:
    """The plan, the map links and taxi card per stop, and the .ics attachment."""
    lines = [
        t.gettext("Day plan for %(date)s, from %(place)s at %(time)s")
        % {
            "date": format_date(plan.day, "full", locale=t.locale),
            "place": place_name(planner, plan.start_place, t.lang),
            "time": _hm(plan.start, t),
        },
        "",
    ]
    # One timeline: each stop from the moment its drive starts, lunch when it starts.
    timeline: list[tuple[datetime, int, Stop | None]] = [
        (stop.arrive - timedelta(minutes=stop.travel_minutes), 1, stop) for stop in plan.stops
    ]
    if plan.lunch:
        timeline.append((plan.lunch[0], 0, None))
    number = 0
    for _, _, stop in sorted(timeline, key=lambda item: (item[0], item[1])):
        if stop is None:
            lines += _lunch_lines(plan, t)
        else:
            number += 1
            lines += _stop_lines(number, stop, planner, t)
    lines += ["", *_summary_lines(plan, planner, t)]
    return Reply("\n".join(lines), t.lang, attachment=_attachment(plan, planner, t, stamp))


def _lunch_lines(plan: DayPlan, t: Translator) -> list[str]:
    assert plan.lunch is not None
    start, end = (_hm(moment, t) for moment in plan.lunch)
    return [t.gettext("%(start)s–%(end)s  Lunch break") % {"start": start, "end": end}, ""]


def _stop_lines(number: int, stop: Stop, planner: Planner, t: Translator) -> list[str]:
    topic = planner.sites[stop.site_id]
    lines = [
        t.gettext("🚗 %(minutes)d min by car") % {"minutes": stop.travel_minutes},
        f"{number}. {_hm(stop.arrive, t)}–{_hm(stop.leave, t)}  {topic.name(t.lang)}",
    ]
    if stop.wait_minutes:
        lines.append(
            "   "
            + t.gettext("(waits %(minutes)d min for opening)") % {"minutes": stop.wait_minutes}
        )
    where = topic.location
    lat, lon = (where.lat, where.lon) if where else (None, None)
    zh_name = topic.name("zh")
    lines.append(
        "   " + t.gettext("Amap (China): %(link)s") % {"link": amap_link(zh_name, lat, lon)}
    )
    lines.append(
        "   "
        + t.gettext("OpenStreetMap: %(link)s") % {"link": osm_link(topic.name("en"), lat, lon)}
    )
    lines += [
        "   " + line
        for line in taxi_card(topic.name("zh"), where.address["zh"] if where else zh_name, t)
    ]
    lines.append("")
    return lines


def taxi_card(name_zh: str, address_zh: str, t: Translator) -> list[str]:
    """What to show a driver: the destination in Chinese characters, with pinyin."""
    spelled = " ".join(lazy_pinyin(name_zh, style=Style.TONE))
    return [
        t.gettext("🚕 Taxi card, show it to the driver:"),
        f"【 {name_zh} 】",
        f"  {address_zh}",
        f"  ({spelled})",
    ]


def _summary_lines(plan: DayPlan, planner: Planner, t: Translator) -> list[str]:
    lines = [
        t.gettext("Ends at %(time)s; %(minutes)d min of driving in all.")
        % {"time": _hm(plan.end, t), "minutes": plan.travel_minutes}
    ]
    reasons = {
        "closed": t.gettext("Not included: %(site)s is closed that day."),
        "after-closing": t.gettext("Not included: %(site)s would close before the visit ends."),
        "day-full": t.gettext("Not included: %(site)s does not fit in the day; plan a second day."),
    }
    for skipped in plan.skipped:
        lines.append(
            "⚠️ " + reasons[skipped.reason] % {"site": place_name(planner, skipped.site_id, t.lang)}
        )
    for site in plan.by_appointment:
        lines.append(
            "⚠️ "
            + t.gettext("%(site)s is visited by appointment only: ask the press office first.")
            % {"site": place_name(planner, site, t.lang)}
        )
    lines.append(t.gettext("Travel times are estimates; allow extra time at rush hour."))
    return lines


def _attachment(
    plan: DayPlan, planner: Planner, t: Translator, stamp: datetime
) -> Attachment | None:
    if not plan.stops:
        return None
    events = [
        Event(
            uid=f"{plan.day.isoformat()}-{number}-{stop.site_id}@jinhua-press-bot",
            start=stop.arrive,
            end=stop.leave,
            summary=planner.sites[stop.site_id].name(t.lang),
            location=_address(planner, stop.site_id),
        )
        for number, stop in enumerate(plan.stops, start=1)
    ]
    filename = f"jinhua-plan-{plan.day.isoformat()}.ics"
    return Attachment(filename, calendar(events, stamp), "text/calendar")


def _address(planner: Planner, site_id: str) -> str:
    where = planner.sites[site_id].location
    return f"{where.address['zh']} / {where.address['en']}" if where else ""
