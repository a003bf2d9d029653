"""Whole conversations through the dispatcher, on a real SQLite file."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import Config
from bot.core.types import Channel, Incoming, Reply
from bot.i18n import translator
from bot.knowledge.model import Ambiguous, Answer, NoMatch
from bot.knowledge.service import KnowledgeService
from tests.conftest import FIXTURE_KB


def say(
    text: str, user: str = "u1", hint: str | None = None, payload: str | None = None
) -> Incoming:
    return Incoming(Channel.CONSOLE, user, user, text, payload, None, hint)


def outcome(replies: list[Reply]) -> object:
    return replies[-1].meta.get("outcome")


async def test_follow_up_keeps_the_topic_and_the_language(app: App) -> None:
    first = await app.handle(say("c'est quoi le site de Shangshan ?"))
    assert isinstance(outcome(first), Answer) and first[-1].lang == "fr"
    second = await app.handle(say("et les horaires ?"))
    result = outcome(second)
    assert isinstance(result, Answer)
    assert (result.topic_id, result.facet) == ("shangshan-site", "hours")
    assert second[-1].lang == "fr"
    assert second[-1].text.startswith(app.knowledge.topic("shangshan-site").name("fr"))


async def test_no_match_offers_the_topic_menu_in_the_users_language(app: App) -> None:
    replies = await app.handle(say("Cuéntame un chiste, por favor"))
    assert isinstance(outcome(replies), NoMatch)
    assert replies[-1].lang == "es"
    assert [b.payload for b in replies[-1].buttons] == [
        "menu:v1:route",
        "menu:v1:event",
        "menu:v1:faq",
    ]


async def test_numbered_choice_presses_the_button(app: App) -> None:
    menu = await app.handle(say("tell me a joke"))
    assert menu[-1].buttons
    routes = await app.handle(say("1"))
    assert {b.payload for b in routes[-1].buttons} >= {"topic:v1:shangshan-site"}
    index = [b.payload for b in routes[-1].buttons].index("topic:v1:shangshan-site")
    answer = await app.handle(say(str(index + 1)))
    assert answer[-1].text.startswith("Shangshan")


async def test_out_of_range_number_asks_again(app: App) -> None:
    await app.handle(say("tell me a joke"))
    replies = await app.handle(say("9"))
    assert "1" in replies[-1].text and "3" in replies[-1].text
    assert len(replies[-1].buttons) == 3


async def test_language_choice_is_saved_and_survives_a_restart(
    app: App, knowledge: KnowledgeService
) -> None:
    replies = await app.handle(say("/language ar"))
    assert replies[-1].lang == "ar"
    reborn = await build_app(app.config, knowledge)
    try:
        later = await reborn.handle(say("Where is Yiwu market?"))
        assert later[-1].lang == "ar"
        assert isinstance(outcome(later), Answer)
    finally:
        await reborn.close()


async def test_language_buttons_and_unknown_language(app: App) -> None:
    menu = await app.handle(say("/language"))
    assert len(menu[-1].buttons) == 8
    pressed = await app.handle(say("", payload="lang:v1:sw"))
    assert pressed[-1].lang == "sw"
    unknown = await app.handle(say("/language klingon"))
    assert unknown[-1].lang == "sw" and "klingon" in unknown[-1].text


async def test_platform_hint_sets_the_reply_language(app: App) -> None:
    replies = await app.handle(say("Shangshan", hint="pt-BR"))
    assert replies[-1].lang == "pt"


async def test_forget_erases_the_conversation(app: App) -> None:
    await app.handle(say("/language ru"))
    await app.handle(say("/forget"))
    await app.handle(say("", payload="forget:v1:yes"))  # the confirmation
    replies = await app.handle(say("Where is Yiwu market?"))
    assert replies[-1].lang == "en"
    followup = await app.handle(say("/forget"))
    assert followup[-1].lang == "en"


async def test_staff_command_is_refused_to_others_and_runs_for_staff(app: App) -> None:
    refused = await app.handle(say("/reload", user="visitor"))
    assert "staff" in refused[-1].text
    done = await app.handle(say("/reload", user="staff-1"))
    assert str(len(app.knowledge.topics())) in done[-1].text


async def test_staff_reload_keeps_the_old_base_when_the_new_one_is_broken(
    tmp_path: Path, app: App
) -> None:
    broken = tmp_path / "kb"
    (broken / "faq").mkdir(parents=True)
    (broken / "facets.yaml").write_text("{}\n")
    (broken / "faq" / "bad.yaml").write_text("id: bad\n")
    service = KnowledgeService(app.config.knowledge_dir)
    staff_app = await build_app(replace(app.config, db_path=str(tmp_path / "s.sqlite3")), service)
    try:
        service.root = broken
        replies = await staff_app.handle(say("/reload", user="staff-1"))
        assert "bad.yaml" in replies[-1].text
        still = await staff_app.handle(say("Shangshan"))
        assert isinstance(outcome(still), Answer)
    finally:
        await staff_app.close()


async def test_unknown_command_and_forged_payload_explain_themselves(app: App) -> None:
    unknown = await app.handle(say("/teleport now"))
    assert "/teleport" in unknown[-1].text and "/help" in unknown[-1].text
    forged = await app.handle(say("", payload="topic:v9:../../etc/passwd"))
    assert forged[-1].buttons  # the menu, not a crash
    missing = await app.handle(say("", payload="topic:v1:no-such-topic"))
    assert missing[-1].buttons


async def test_deep_link_opens_a_topic(app: App) -> None:
    replies = await app.handle(say("/start topic_shangshan-site"))
    assert replies[-1].text.startswith("Shangshan")


async def test_greetings_and_thanks_are_small_talk(app: App) -> None:
    hello = await app.handle(say("你好"))
    assert hello[-1].lang == "zh" and hello[-1].buttons
    thanks = await app.handle(say("asante sana"))
    assert thanks[-1].lang == "sw" and "outcome" not in thanks[-1].meta


def _event_file(topic_id: str, keyword: str) -> str:
    langs = ("en", "zh", "fr", "es", "ar", "ru", "pt", "sw")
    text = "".join(f"  {lang}: {topic_id} {lang}\n" for lang in langs)
    words = "".join(f"  {lang}: [{keyword}]\n" for lang in langs)
    return (
        f"id: {topic_id}\nkind: event\ntitle:\n{text}aliases: [{topic_id}]\n"
        f"keywords:\n{words}questions:\n{words}answer:\n{text}facets: {{}}\n"
    )


async def test_ambiguous_shows_choices_and_a_number_picks_one(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, kb)
    (kb / "events").mkdir()
    for topic_id in ("lantern-fair", "tea-fair"):
        (kb / "events" / f"{topic_id}.yaml").write_text(
            _event_file(topic_id, "festival, parade, lantern, dragon")
        )
    config = Config(knowledge_dir=kb, db_path=str(tmp_path / "a.sqlite3"))
    app = await build_app(config)
    try:
        replies = await app.handle(say("festival parade lantern dragon"))
        result = outcome(replies)
        assert isinstance(result, Ambiguous)
        assert [b.payload for b in replies[-1].buttons] == [
            f"topic:v1:{c}" for c in result.candidates
        ]
        chosen = await app.handle(say("2"))
        assert chosen[-1].text.startswith(f"{result.candidates[1]} en")
    finally:
        await app.close()


async def test_a_failure_in_one_message_becomes_a_translated_apology(
    tmp_path: Path, knowledge: KnowledgeService
) -> None:
    broken = await build_app(Config(db_path=str(tmp_path / "gone.sqlite3")), knowledge)
    await broken.db.close()  # storage fails under the dispatcher, as a full disk would
    replies = await broken.handle(say("Shangshan", hint="fr"))
    assert replies[-1].lang == "fr"
    assert replies[-1].text == translator("fr").gettext(
        "Sorry, something went wrong on my side. Please try again."
    )


async def test_a_facet_without_a_place_asks_which_place(app: App) -> None:
    replies = await app.handle(say("et les horaires ?"))
    assert replies[-1].lang == "fr"
    payloads = [b.payload for b in replies[-1].buttons]
    assert "topic:v1:shangshan-site:hours" in payloads
    assert all(p.endswith(":hours") for p in payloads)
    chosen = await app.handle(say(str(payloads.index("topic:v1:shangshan-site:hours") + 1)))
    hours = app.knowledge.topic("shangshan-site").text("fr", "hours")
    assert hours in chosen[-1].text


async def test_a_facet_about_an_unknown_place_is_out_of_scope(app: App) -> None:
    replies = await app.handle(say("How do I get to Paris from London?"))
    assert isinstance(outcome(replies), NoMatch)
    assert [b.payload for b in replies[-1].buttons] == [
        "menu:v1:route",
        "menu:v1:event",
        "menu:v1:faq",
    ]


async def test_a_day_plan_conversation_in_french(app: App) -> None:
    first = await app.handle(
        say("Planifier une journée à la cité antique de Wuzhou et au site de Shangshan")
    )
    assert first[-1].lang == "fr"
    chosen = [b.label for b in first[-1].buttons if b.label.startswith("✅")]
    assert len(chosen) == 2
    payloads = [b.payload for b in first[-1].buttons]
    day = await app.handle(say(str(payloads.index("plan:v1:done") + 1)))
    assert any(b.payload.startswith("plan:v1:day:") for b in day[-1].buttons)
    typo = await app.handle(say("2026-02-31"))
    assert "plan:v1:cancel" in [b.payload for b in typo[-1].buttons]  # asked again, not lost
    place = await app.handle(say("2099-12-01"))
    payloads = [b.payload for b in place[-1].buttons]
    at = await app.handle(say(str(payloads.index("plan:v1:from:jinhua-centre") + 1)))
    assert "plan:v1:at:09:00" in [b.payload for b in at[-1].buttons]
    plan = await app.handle(say("", payload="plan:v1:at:09:00"))
    reply = plan[-1]
    assert reply.lang == "fr" and reply.attachment is not None
    assert "Cité antique de Wuzhou" in reply.text and "uri.amap.com" in reply.text
    assert reply.attachment.content.startswith(b"BEGIN:VCALENDAR")
    after = await app.handle(say("Shangshan"))
    assert isinstance(outcome(after), Answer)  # the form is over


async def test_the_plan_form_can_be_cancelled_and_needs_a_site(app: App) -> None:
    start = await app.handle(say("/plan"))
    assert not [b for b in start[-1].buttons if b.label.startswith("✅")]
    again = await app.handle(say("", payload="plan:v1:done"))
    assert again[-1].text.startswith(translator("en").gettext("Please pick at least one site."))
    cancelled = await app.handle(say("cancel"))
    assert cancelled[-1].text == translator("en").gettext("Planning cancelled.")
    answer = await app.handle(say("Where is Yiwu market?"))
    assert isinstance(outcome(answer), Answer)


async def test_a_programme_question_is_not_a_planning_request(app: App) -> None:
    replies = await app.handle(say("ما هو برنامج سفراء الاتصال الدولي؟"))
    result = outcome(replies)
    assert isinstance(result, Answer) and result.topic_id == "ambassadors"


async def test_subscribe_is_remembered_once_and_forget_removes_it(app: App) -> None:
    subscribed = await app.handle(say("/subscribe", hint="pt"))
    assert subscribed[-1].text == translator("pt").gettext(
        "Subscribed: you will receive the centre's announcements."
    )
    again = await app.handle(say("/subscribe", hint="pt"))
    assert again[-1].text == translator("pt").gettext("You are already subscribed.")
    assert await app.repos.subscribers.count() == 1
    await app.handle(say("/forget"))
    await app.handle(say("", payload="forget:v1:yes"))  # the confirmation
    assert await app.repos.subscribers.count() == 0
    gone = await app.handle(say("/unsubscribe"))
    assert gone[-1].text == translator("en").gettext("You were not subscribed.")


async def _rsvp_form(app: App, user: str, hint: str) -> list[Reply]:
    tours = await app.handle(say("/tours", user=user, hint=hint))
    join = next(b.payload for b in tours[-1].buttons if b.payload.endswith(":join"))
    await app.handle(say("", user=user, hint=hint, payload=join))
    for answer in ("王小明", "Xinhua", "camera"):
        await app.handle(say(answer, user=user, hint=hint))
    skip = join.replace(":join", ":skip")
    await app.handle(say("", user=user, hint=hint, payload=skip))
    await app.handle(say("no interpreter", user=user, hint=hint))  # the tour's own
    return await app.handle(
        say("", user=user, hint=hint, payload=join.replace(":join", ":consent"))
    )


async def test_an_rsvp_conversation_books_a_seat_with_a_calendar_file(app: App) -> None:
    tours = await app.handle(say("/tours", hint="zh"))
    assert "2027" in tours[-1].text and tours[-1].lang == "zh"
    booked = await _rsvp_form(app, "u1", "zh")
    assert booked[-1].attachment is not None
    assert booked[-1].attachment.content.startswith(b"BEGIN:VCALENDAR")
    assert "签到码" in booked[-1].text
    join = "rsvp:v1:jinhua-heritage-and-industry:join"
    again = await app.handle(say("", hint="zh", payload=join))  # changes nothing
    assert "签到码" in again[-1].text and again[-1].attachment is None
    assert len(await app.rsvp.bookings("jinhua-heritage-and-industry")) == 1
    mine = await app.handle(say("/mytours", hint="zh"))
    assert [b.payload.endswith(":cancel") for b in mine[-1].buttons] == [True]


async def test_rsvp_form_rejects_empty_and_too_long_answers(app: App) -> None:
    tours = await app.handle(say("/tours"))
    join = next(b.payload for b in tours[-1].buttons if b.payload.endswith(":join"))
    await app.handle(say("", payload=join))
    await app.handle(say("Ana"))
    too_long = await app.handle(say("x" * 500))
    assert "200" in too_long[-1].text  # asked again for the outlet, with the limit
    quit_form = await app.handle(say("cancel"))
    assert "No booking" in quit_form[-1].text
    assert await app.rsvp.bookings_of("console", "u1") == []


async def test_cancelling_promotes_the_next_and_tells_them_in_their_language(app: App) -> None:
    service = app.rsvp
    from bot.rsvp.service import Person

    tour = min(service.tours.values(), key=lambda t: t.capacity)
    for n in range(tour.capacity):
        await service.request(tour.id, Person("console", f"s{n}", f"s{n}", "en", "S", "O"))
    waiting = await service.request(tour.id, Person("telegram", "99", "99", "ru", "Ира", "ТАСС"))
    assert waiting.status == "waitlisted"
    replies = await app.handle(say("", user="s0", payload=f"rsvp:v1:{tour.id}:cancel"))
    assert len(replies) == 1  # the canceller hears only about their own booking
    [notice] = await app.repos.outbox.claim(time.time(), 10)  # the promoted one, via the outbox
    assert (notice.channel, notice.chat_id) == (Channel.TELEGRAM, "99")
    assert notice.reply.lang == "ru" and notice.reply.attachment is not None


async def test_staff_rsvp_commands_in_chat(app: App) -> None:
    booked = await _rsvp_form(app, "u1", "en")
    code = booked[-1].text.split()[-1].rstrip(".")
    refused = await app.handle(say("/rsvps jinhua-heritage-and-industry", user="visitor"))
    assert "staff" in refused[-1].text
    usage = await app.handle(say("/export", user="staff-1", hint="fr"))
    assert "jinhua-heritage-and-industry" in usage[-1].text and usage[-1].lang == "fr"
    listed = await app.handle(say("/rsvps jinhua-heritage-and-industry", user="staff-1"))
    # A command is no sentence: the conversation stays in French.
    assert "1 confirmés" in listed[-1].text and code in listed[-1].text
    await app.handle(say("/language zh", user="staff-1"))
    exported = await app.handle(
        say("/export jinhua-heritage-and-industry", user="staff-1", hint="zh")
    )
    csv_bytes = exported[-1].attachment.content
    assert csv_bytes.decode("utf-8-sig").startswith("签到码,状态") and "王小明" in csv_bytes.decode(
        "utf-8-sig"
    )
    checked = await app.handle(say(f"/checkin {code}", user="staff-1"))
    assert "王小明" in checked[-1].text
    wrong = await app.handle(say("/checkin NOPE42", user="staff-1"))
    assert "NOPE42" in wrong[-1].text


async def test_many_rsvp_conversations_at_once_share_the_store_safely(app: App) -> None:
    """Conversation saves and seat transactions share one connection and must not mix."""
    import asyncio

    await asyncio.gather(*(_rsvp_form(app, f"r{n}", "en") for n in range(45)))
    bookings = await app.rsvp.bookings("jinhua-heritage-and-industry")
    statuses = [b.status for b in bookings]
    assert (statuses.count("confirmed"), statuses.count("waitlisted")) == (30, 15)


@pytest.mark.parametrize(
    "request_text",
    [
        "Any press trips next week?",
        "最近有什么采风报名吗？",
        "Y a-t-il des voyages de presse bientôt ?",
        "¿Hay viajes de prensa este mes?",
        "Какие пресс-туры скоро?",
        "Tem viagens de imprensa em breve?",
    ],
)
async def test_free_text_asks_for_upcoming_tours(app: App, request_text: str) -> None:
    replies = await app.handle(say(request_text))
    assert any(b.payload.startswith("rsvp:v1:") for b in replies[-1].buttons)


async def test_the_2024_media_tour_question_still_answers_from_knowledge(app: App) -> None:
    replies = await app.handle(say("Which media took part in the Explore Jinhua tour?"))
    result = outcome(replies)
    assert isinstance(result, Answer) and result.topic_id == "explore-jinhua"


async def test_booking_calendar_parses_and_extra_answers_reach_the_export(app: App) -> None:
    from datetime import timedelta

    import icalendar

    booked = await _rsvp_form(app, "u9", "fr")
    tour = app.rsvp.tours["jinhua-heritage-and-industry"]
    calendar_file = icalendar.Calendar.from_ical(booked[-1].attachment.content)
    [event] = [c for c in calendar_file.walk() if c.name == "VEVENT"]
    assert event.decoded("DTSTART") == tour.start
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=8)
    assert "金华站" in str(event.get("LOCATION"))
    export = await app.rsvp.export_csv(tour.id, ["code"] * 9)
    header, row = export.decode("utf-8-sig").splitlines()[:2]
    # The extra column is headed by the question's label, not its id.
    assert header.endswith(',"Do you need an interpreter? If so, for which language?"')
    assert row.endswith(",no interpreter")


async def test_tour_deep_link_shows_the_tour_with_its_stops(app: App) -> None:
    replies = await app.handle(say("/start tour_jinhua-heritage-and-industry", hint="ar"))
    payloads = [b.payload for b in replies[-1].buttons]
    assert payloads[0] == "rsvp:v1:jinhua-heritage-and-industry:join"
    assert "topic:v1:wuzhou-ancient-city" in payloads and replies[-1].lang == "ar"


async def test_a_greeting_with_an_introduction_is_welcomed_not_refused(app: App) -> None:
    replies = await app.handle(say("Bonjour ! Je suis journaliste à RFI.", hint="fr"))
    refusal = translator("fr").gettext(
        "Sorry, I can't help with that. I can answer questions about these topics:"
    )
    assert replies[-1].lang == "fr" and replies[-1].text != refusal
    assert replies[-1].buttons[0].payload == "menu:v1:route"


async def test_ok_and_no_are_not_taken_as_a_name_and_no_skips_the_phone(app: App) -> None:
    tours = await app.handle(say("/tours"))
    join = next(b.payload for b in tours[-1].buttons if b.payload.endswith(":join"))
    await app.handle(say("", payload=join))
    again = await app.handle(say("ok"))
    assert "Please type the answer itself" in again[-1].text and "name" in again[-1].text
    for answer in ("Ana Pérez", "EFE", "camera", "no"):
        replies = await app.handle(say(answer))
    assert "interpreter" in replies[-1].text  # "no" skipped the optional phone number


async def test_a_question_about_joining_a_tour_is_answered_with_the_tours_offered(
    app: App,
) -> None:
    question = "我们是巴西的电视台，想报名参加下次媒体采风，需要提交什么材料？"
    replies = await app.handle(say(question))
    result = outcome(replies)
    assert isinstance(result, Answer) and result.topic_id == "interview-requests"
    offer = [b for b in replies[-1].buttons if b.payload == "tours:v1:list"]
    assert [b.label for b in offer] == [translator("zh").gettext("Upcoming media tours")]
    tours = await app.handle(say("", payload=offer[0].payload))
    assert any(b.payload.startswith("rsvp:v1:") for b in tours[-1].buttons)
    asked_alone = await app.handle(say("next media tour?", user="u2"))
    assert outcome(asked_alone) is None  # the request itself gets the list at once
    assert any(b.payload.startswith("rsvp:v1:") for b in asked_alone[-1].buttons)


async def test_ok_and_a_bare_name_after_an_answer_are_not_follow_up_questions(app: App) -> None:
    await app.handle(say("¿Qué puedo grabar en el mercado de Yiwu?"))
    ack = await app.handle(say("ok"))
    assert outcome(ack) is None and ack[-1].lang == "es"
    expected = "All right. Ask me anything else about Jinhua, or pick a topic:"
    assert ack[-1].text == translator("es").gettext(expected)
    name = await app.handle(say("Ana Pérez"))
    assert isinstance(outcome(name), NoMatch)
    followup = await app.handle(say("¿y se puede entrar gratis?"))  # the context is still there
    result = outcome(followup)
    assert isinstance(result, Answer) and result.topic_id == "yiwu-trade-city"


async def test_a_statement_then_a_question_are_read_together(app: App) -> None:
    first = await app.handle(say("Je pars de Shanghai demain matin."))
    assert isinstance(outcome(first), NoMatch)
    second = await app.handle(say("Combien de temps ça prend en train ?"))
    result = outcome(second)
    assert isinstance(result, Answer) and result.topic_id == "getting-to-jinhua"
    assert second[-1].lang == "fr"
    alone = await app.handle(say("Combien de temps ça prend en train ?", user="u2"))
    assert isinstance(outcome(alone), NoMatch)


async def test_a_form_says_how_to_answer_and_lets_people_out_in_their_words(app: App) -> None:
    zh = translator("zh")
    await app.handle(say("帮我规划一天的行程"))
    no = await app.handle(say("不"))
    hint = "Please choose with the buttons below (or tap Cancel to stop)."
    assert no[-1].text.startswith(zh.gettext(hint))
    left = await app.handle(say("算了吧！"))
    assert left[-1].text == zh.gettext("Planning cancelled.")
    await app.handle(say("帮我规划一天的行程"))
    person = await app.handle(say("我要找工作人员"))  # a person, at once, from inside the form
    assert person[0].text == zh.gettext("Planning cancelled.")
    assert len(person) == 2 and "/done" in person[1].text
    await app.handle(say("/plan", user="u2"))
    never = await app.handle(say("never mind", user="u2"))
    assert never[-1].text == translator("en").gettext("Planning cancelled.")


async def test_tour_requests_and_questions_near_tours_are_told_apart(app: App) -> None:
    seat = await app.handle(say("أريد حجز مقعد في الجولة الإعلامية القادمة"))
    assert any(b.payload.startswith("rsvp:v1:") for b in seat[-1].buttons)
    press = await app.handle(say("Как связаться с пресс-службой?", user="u2"))
    result = outcome(press)
    assert isinstance(result, Answer) and result.topic_id == "contact"


async def test_cancel_with_no_form_open_says_so(app: App) -> None:
    replies = await app.handle(say("توقف"))
    expected = "There is nothing to cancel. Ask me a question, or pick a topic:"
    assert replies[-1].text == translator("ar").gettext(expected)
    assert replies[-1].buttons


async def test_a_question_of_only_common_words_follows_the_topic(app: App) -> None:
    await app.handle(say("Parlez-moi des points d'observation de la communication internationale"))
    replies = await app.handle(say("Combien y en a-t-il ?"))
    result = outcome(replies)
    assert isinstance(result, Answer) and result.topic_id == "observation-points"
    no = await app.handle(say("non"))
    expected = "I didn't catch a question. Type a question, or pick a topic:"
    assert no[-1].text == translator("fr").gettext(expected)
