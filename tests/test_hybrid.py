"""The hybrid engine on the real knowledge base: inflections, wrapped questions, context,
near-misses, intents and the vector cache. Outcomes, not wording."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.knowledge.model import Ambiguous, Answer, AskContext, IntentMatch, NoMatch
from bot.knowledge.scope import Scope
from bot.knowledge.service import KnowledgeService
from bot.knowledge.text import stems
from bot.knowledge.vectors import E5Embedder, Matrix
from bot.knowledge.yamlfile import KnowledgeError
from tests.conftest import FIXTURE_KB


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Расскажите о деревне Лицзу", "lizu-village"),  # prepositional case
        ("Как доехать до деревни Лицзу?", "lizu-village"),  # genitive
        ("وبالنسبة لقرية ليزو، كيف أصل إليها؟", "lizu-village"),  # و + ب + ال prefixes
        ("ما هي ساعات العمل في السوق الدولي في ييوو؟", "yiwu-trade-city"),
        ("Les horaires des marchés de Yiwu ?", "yiwu-trade-city"),  # French plural
    ],
)
def test_inflected_forms_find_their_topic(
    knowledge: KnowledgeService, question: str, topic: str
) -> None:
    outcome = knowledge.ask(question)
    assert isinstance(outcome, Answer) and outcome.topic_id == topic


@pytest.mark.parametrize(
    ("question", "topic"),
    [("как доехать до ли цзу", "lizu-village"), ("ما هي ساعات سوق يي وو؟", "yiwu-trade-city")],
)
def test_a_name_typed_syllable_by_syllable_is_joined(
    knowledge: KnowledgeService, question: str, topic: str
) -> None:
    outcome = knowledge.ask(question)
    assert isinstance(outcome, Answer) and outcome.topic_id == topic


def test_stems_join_inflected_forms() -> None:
    assert set(stems("деревню")) & set(stems("деревня"))
    assert set(stems("horaires")) & set(stems("horaire"))
    assert stems("ok") == ()


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        (
            "Hello! I am a radio journalist from Ghana, in Jinhua this week. "
            "How do I get to the Shangshan site?",
            "shangshan-site",
        ),
        (
            "Habari! Mimi ni mwandishi wa habari kutoka Nairobi. Ninawezaje kufika soko la Yiwu?",
            "yiwu-trade-city",
        ),
        (
            "Bonjour, je suis photographe indépendante et je vis à Jinhua depuis un an. "
            "Comment aller au village de Lizu ?",
            "lizu-village",
        ),
        (  # the place is named in the introduction; the question alone names none
            "Habari! Mimi ni mwanablogu kutoka Arusha, nipo Jinhua kwa siku tatu. Nataka "
            "kuzuru Jimingshan Community ambapo wageni wanaishi. Nianzie wapi?",
            "jimingshan-community",
        ),
    ],
)
def test_greeting_and_self_introduction_do_not_hide_the_question(
    knowledge: KnowledgeService, question: str, topic: str
) -> None:
    outcome = knowledge.ask(question)
    assert isinstance(outcome, Answer) and outcome.topic_id == topic


@pytest.mark.parametrize(
    ("followup", "context", "facet"),
    [
        ("is it free?", AskContext("shangshan-site"), "hours"),
        ("是免费的吗？", AskContext("wuzhou-ancient-city"), "hours"),
        ("et on peut filmer à l'intérieur ?", AskContext("yiwu-trade-city"), "filming"),
        ("how long from the station?", AskContext("lizu-village"), "getting_there"),
        ("and from Yiwu?", AskContext("shangshan-site", "getting_there"), "getting_there"),
        ("can I fly a drone there?", AskContext("lizu-village"), "filming"),
        ("and the opening hours?", "shangshan-site", "hours"),  # a plain topic id still works
    ],
)
def test_followups_read_against_the_conversation(
    knowledge: KnowledgeService, followup: str, context: AskContext | str, facet: str
) -> None:
    outcome = knowledge.ask(followup, context)
    topic = context if isinstance(context, str) else context.topic_id
    assert isinstance(outcome, Answer)
    assert (outcome.topic_id, outcome.facet) == (topic, facet)


def test_a_question_about_documents_after_a_place_is_the_request_procedure(
    knowledge: KnowledgeService,
) -> None:
    before = "Je veux photographier des artisans au village de Lizu."
    context = AskContext("lizu-village", "filming", before)
    outcome = knowledge.ask("Quels papiers dois-je préparer ?", context)
    assert isinstance(outcome, Answer) and outcome.topic_id == "interview-requests"
    again = knowledge.ask("et les horaires ?", context)  # a facet the village has stays
    assert isinstance(again, Answer) and again.topic_id == "lizu-village"


def test_a_followup_naming_another_topic_moves_on(knowledge: KnowledgeService) -> None:
    outcome = knowledge.ask("and Lizu village?", AskContext("shangshan-site"))
    assert isinstance(outcome, Answer) and outcome.topic_id == "lizu-village"


@pytest.mark.parametrize(
    "question",
    ["what's the weather tomorrow?", "Alibaba share price today", "bitcoin price?"],
)
def test_out_of_scope_stays_rejected_even_with_a_context(
    knowledge: KnowledgeService, question: str
) -> None:
    assert isinstance(knowledge.ask(question, AskContext("yiwu-trade-city")), NoMatch)
    assert isinstance(knowledge.ask(question), NoMatch)


@pytest.mark.parametrize(
    "question", ["Wuzhou in Guangxi", "梧州在广西哪里？", "Что посмотреть в Учжоу, Гуанси?"]
)
def test_a_place_sharing_our_name_is_rejected_with_a_note(
    knowledge: KnowledgeService, question: str
) -> None:
    outcome = knowledge.ask(question)
    assert isinstance(outcome, NoMatch)
    assert outcome.confusable == "wuzhou-ancient-city"


@pytest.mark.parametrize(
    "question",
    [
        "¿Se puede visitar el yacimiento neolítico de Tianluoshan?",
        "How many electric cars did Xpeng sell last year?",
    ],
)
def test_a_question_about_a_name_we_do_not_know_is_rejected(
    knowledge: KnowledgeService, question: str
) -> None:
    assert isinstance(knowledge.ask(question), NoMatch)


def test_a_place_elsewhere_is_not_ours_unless_it_is_where_one_starts(
    knowledge: KnowledgeService,
) -> None:
    assert isinstance(knowledge.ask("北京的新闻中心几点开门？"), NoMatch)
    outcome = knowledge.ask("从上海去义乌怎么走？")
    assert isinstance(outcome, Answer) and outcome.topic_id == "getting-to-jinhua"
    outcome = knowledge.ask("我是法国记者，怎么申请采访？")  # who one is, not where
    assert isinstance(outcome, Answer) and outcome.topic_id == "interview-requests"


def test_everyday_subjects_need_strong_evidence(knowledge: KnowledgeService) -> None:
    assert isinstance(knowledge.ask("Any cheap hotel near the Yiwu market?"), NoMatch)
    assert isinstance(knowledge.ask("义乌有没有好吃的清真餐厅？"), NoMatch)
    assert isinstance(knowledge.ask("Где найти недорогую гостиницу в Цзиньхуа?"), NoMatch)
    outcome = knowledge.ask("Can I pay the hotel with my foreign Visa card?")
    assert isinstance(outcome, Answer) and outcome.topic_id == "payments"


def test_the_first_of_two_questions_is_answered_when_the_second_is_not_ours(
    knowledge: KnowledgeService,
) -> None:
    text = "¿Los taxis de Jinhua aceptan Alipay? ¿Y dónde compro una tarjeta SIM?"
    outcome = knowledge.ask(text)
    assert isinstance(outcome, Answer) and outcome.topic_id == "payments"


def test_places_elsewhere_must_be_lists_of_names(tmp_path: Path) -> None:
    (tmp_path / "scope.yaml").write_text("elsewhere:\n  zh: 北京\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"scope.yaml:2: elsewhere.zh: must be a list"):
        Scope.load(tmp_path / "scope.yaml")


def test_a_home_town_is_not_what_the_question_is_about(knowledge: KnowledgeService) -> None:
    outcome = knowledge.ask("Hi, I'm Ana from Porto. Can I film inside the Yiwu market?")
    assert isinstance(outcome, Answer) and outcome.topic_id == "yiwu-trade-city"


def test_the_note_is_only_for_the_other_place(knowledge: KnowledgeService) -> None:
    outcome = knowledge.ask("What is Wuzhou Ancient City?")
    assert isinstance(outcome, Answer) and outcome.topic_id == "wuzhou-ancient-city"
    assert isinstance(knowledge.ask("What will the weather be in Yiwu tomorrow?"), NoMatch)


def test_two_questions_in_one_message_expose_the_second(knowledge: KnowledgeService) -> None:
    outcome = knowledge.ask("How do I get to Lizu village, and what is the Shangshan site?")
    assert isinstance(outcome, Answer)
    assert {outcome.topic_id, *outcome.also} == {"lizu-village", "shangshan-site"}
    assert outcome.topic_id not in outcome.also


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I need to talk to someone", "human"),
        ("Quero falar com uma pessoa da equipe", "human"),
        ("我要找工作人员", "human"),
        ("Je voudrais parler à quelqu'un de l'équipe", "human"),
        ("plan a day at Wuzhou and Shangshan", "plan"),
        ("帮我规划一天的行程", "plan"),
        ("any press trips next week?", "tours"),
        ("ближайшие пресс-туры", "tours"),
        ("Can I change the language?", "language"),
        ("badilisha lugha tafadhali", "language"),
    ],
)
def test_intents_in_every_language(knowledge: KnowledgeService, text: str, intent: str) -> None:
    found = knowledge.intent(text)
    assert isinstance(found, IntentMatch) and found.intent == intent
    assert 0 < found.confidence <= 1


@pytest.mark.parametrize("text", ["What is Lizu village?", "How do I get to Shangshan?", ""])
def test_topic_questions_are_no_intent(knowledge: KnowledgeService, text: str) -> None:
    assert knowledge.intent(text) is None


def test_a_huge_message_gets_an_outcome(knowledge: KnowledgeService) -> None:
    for text in ("a" * 100_000, "Wuzhou " * 20_000, "上山" * 50_000):
        assert isinstance(knowledge.ask(text), Answer | Ambiguous | NoMatch)


class CountingEmbedder(E5Embedder):
    """The real model, counting the texts it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str], is_query: bool) -> Matrix:
        self.texts.extend(texts)
        return super().embed(texts, is_query)


def test_the_vector_cache_spares_the_model(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, kb)
    first = KnowledgeService(kb, CountingEmbedder())
    assert first.embedded_phrases > 0 and (kb / "vectors.npy").exists()

    second = KnowledgeService(kb, CountingEmbedder())
    assert second.embedded_phrases == 0

    topic = kb / "routes" / "shangshan-site.yaml"
    text = topic.read_text(encoding="utf-8")
    title = "  en: Shangshan Archaeological Site Park\n"
    assert title in text
    topic.write_text(text.replace(title, title.rstrip() + " (edited)\n", 1), encoding="utf-8")
    second.reload()
    assert second.embedded_phrases == 1


@pytest.mark.parametrize(
    ("question", "topic", "asked", "facet"),
    [
        (
            "How much time should I allow for Lizu village?",
            "lizu-village",
            "visit_time",
            "visit_time",
        ),
        ("金华新能源汽车小镇参观需要多长时间？", "nev-town", "visit_time", "visit_time"),
        (
            "Combien de temps faut-il pour visiter le site de Shangshan ?",
            "shangshan-site",
            "visit_time",
            "visit_time",
        ),
        ("Is Wuzhou Ancient City free to enter?", "wuzhou-ancient-city", "hours", "hours"),
        ("Can I fly a drone at Lizu village?", "lizu-village", "filming", "filming"),
        # No source says anything on step-free access: the facet is asked, none is answered.
        (
            "Is there wheelchair access at the Shangshan site?",
            "shangshan-site",
            "accessibility",
            None,
        ),
    ],
)
def test_the_facets_people_ask_about(
    knowledge: KnowledgeService, question: str, topic: str, asked: str, facet: str | None
) -> None:
    outcome = knowledge.ask(question)
    assert isinstance(outcome, Answer)
    assert (outcome.topic_id, outcome.asked, outcome.facet) == (topic, asked, facet)


def test_boilerplate_shared_by_topics_is_not_a_semantic_phrase(
    knowledge: KnowledgeService,
) -> None:
    from bot.knowledge.semantic import all_phrases

    texts = [p.text for p in all_phrases(knowledge.topics()) if not p.is_query]
    assert "（本条目中的中文名称为暂译，尚待官方确认。）" not in texts


def test_the_model_is_spent_only_on_text_in_our_languages_scripts() -> None:
    from bot.knowledge.engine import mostly_our_scripts

    for text in (
        "Where is Yiwu market?",
        "上山遗址在哪里",
        "Где Иу?",
        "أين سوق ييوو؟",
        "Shangshan 上山",
    ):
        assert mostly_our_scripts(text), text
    for noise in ("𨼷𢂸𣍾𦳉𡈩", "🙂🙂🙂", "", "ᚪᚢᚦᚨ ᛗᛁ", "안녕하세요 반갑습니다"):
        assert not mostly_our_scripts(noise), noise


def test_an_arabic_follow_up_starting_with_and_finds_its_facet(knowledge: KnowledgeService) -> None:
    from bot.knowledge.model import Answer, AskContext

    outcome = knowledge.ask("وكيف أصل إليها من المطار؟", AskContext("yiwu-trade-city"))
    assert isinstance(outcome, Answer) and outcome.facet == "getting_there"
