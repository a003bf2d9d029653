"""The answer engine on the real knowledge base: outcomes, not wording."""

from __future__ import annotations

import pytest

from bot.knowledge.engine import KnowledgeIndex
from bot.knowledge.facets import FacetLexicon
from bot.knowledge.model import Ambiguous, Answer, NoMatch, Topic
from bot.knowledge.service import KnowledgeService
from tests.conftest import KNOWLEDGE


@pytest.mark.parametrize(
    ("question", "topic", "facet"),
    [
        ("How do I get to the Shangshan site from Yiwu?", "shangshan-site", "getting_there"),
        ("义乌国际商贸城几点开门", "yiwu-trade-city", "hours"),
        ("c'est quoi Wuzhou gucheng ?", "wuzhou-ancient-city", None),
        ("Yiwo market", "yiwu-trade-city", None),
        ("yiwu shangmaocheng", "yiwu-trade-city", None),
        ("Bayong Tower", "wuzhou-ancient-city", None),
        ("Shangshan opening hours", "shangshan-site", "hours"),
        ("Who can I interview at Lizu village?", "lizu-village", "interview_angles"),
        ("¿Cómo llego a la aldea de Lizu?", "lizu-village", "getting_there"),
        ("Как добраться до Шаншань?", "shangshan-site", "getting_there"),
        ("ما هي ساعات عمل سوق ييوو؟", "yiwu-trade-city", "hours"),
        ("Leapmotor factory", "nev-town", None),
        ("China-Europe freight trains", "intermodal-port", None),
    ],
)
def test_questions_find_their_topic_and_facet(
    knowledge: KnowledgeService, question: str, topic: str, facet: str | None
) -> None:
    outcome = knowledge.ask(question)
    assert isinstance(outcome, Answer), outcome
    assert (outcome.topic_id, outcome.facet) == (topic, facet)
    assert 0 < outcome.confidence <= 1


@pytest.mark.parametrize(
    "question",
    [
        "tell me a joke",
        "What is the capital of Australia?",
        "Quelle heure est-il à New York ?",
        "比特币今天多少钱？",
        "asdfghjkl",
        "كم عمر الكون؟",
    ],
)
def test_off_topic_questions_get_no_match(knowledge: KnowledgeService, question: str) -> None:
    assert isinstance(knowledge.ask(question), NoMatch)


@pytest.mark.parametrize(
    ("followup", "facet"),
    [
        ("and the opening hours?", "hours"),
        ("how do I get there?", "getting_there"),
        ("那里怎么去？", "getting_there"),
        ("et les horaires ?", "hours"),
        ("who can I interview there?", "interview_angles"),
    ],
)
def test_followups_without_a_place_use_the_last_topic(
    knowledge: KnowledgeService, followup: str, facet: str
) -> None:
    outcome = knowledge.ask(followup, context="shangshan-site")
    assert isinstance(outcome, Answer)
    assert (outcome.topic_id, outcome.facet) == ("shangshan-site", facet)


def test_a_named_place_wins_over_the_last_topic(knowledge: KnowledgeService) -> None:
    outcome = knowledge.ask("how do I get to Yiwu market?", context="shangshan-site")
    assert isinstance(outcome, Answer) and outcome.topic_id == "yiwu-trade-city"


def test_facet_without_place_or_context_goes_to_its_default_topic(
    knowledge: KnowledgeService,
) -> None:
    outcome = knowledge.ask("How do I get to Jinhua?")
    assert isinstance(outcome, Answer) and outcome.topic_id == "getting-to-jinhua"


def _topic(topic_id: str, keyword: str) -> Topic:
    text = {lang: f"{topic_id} text" for lang in ("en", "zh")}
    return Topic(
        id=topic_id,
        kind="event",
        title={"en": topic_id.title()},
        aliases=(topic_id,),
        keywords={"en": (keyword,)},
        questions={"en": (f"What is {topic_id}?",)},
        answer=text,
        facets={},
    )


def test_near_ties_are_ambiguous_with_both_candidates() -> None:
    fillers = [_topic(f"filler-{n}", f"word{n}") for n in range(20)]
    topics = [_topic("lantern-fair", "festival parade"), _topic("tea-fair", "festival parade")]
    index = KnowledgeIndex(topics + fillers, FacetLexicon.load(KNOWLEDGE / "facets.yaml"))
    outcome = index.match("festival parade")
    assert isinstance(outcome, Ambiguous)
    assert set(outcome.candidates) == {"lantern-fair", "tea-fair"}


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "   ",
        "😀🎉🔥" * 50,
        "x" * 20_000,
        "Wuzhou " * 3_000,
        "\x00\x01\x02\x1b[31m\u202e\u200f",
        "مرحبا Shangshan שלום \u202bمدينة\u202c 上山",
        "🇨🇳" * 100 + "义乌",
    ],
)
def test_hostile_input_gets_an_outcome_not_a_traceback(
    knowledge: KnowledgeService, hostile: str
) -> None:
    outcome = knowledge.ask(hostile)
    assert isinstance(outcome, Answer | Ambiguous | NoMatch)


def test_a_typo_in_a_facet_word_still_finds_the_facet(knowledge: KnowledgeService) -> None:
    outcome = knowledge.ask("Как добратся до Шаншань?")
    assert isinstance(outcome, Answer)
    assert (outcome.topic_id, outcome.facet) == ("shangshan-site", "getting_there")
