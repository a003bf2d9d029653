"""Catalogs are complete in all 8 languages, placeholders intact, and languages resolve."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, detect_language, resolve_language, supported, translator
from bot.knowledge.model import LANGUAGES
from bot.knowledge.service import KnowledgeService
from tests.conftest import ROOT


def catalog(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def test_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "N_", "--no-location", "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with fresh.open("rb") as handle:
        extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        committed = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert extracted == committed, "run: pybabel extract (see README, Translations)"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_string_with_intact_placeholders(lang: str) -> None:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    translated = catalog(lang)
    for message in translated:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{lang}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{lang}: fuzzy {message.id!r}"
        assert list(message.check(translated)) == [], f"{lang}: {message.id!r}"
    assert {m.id for m in translated if m.id} == template


def test_translations_are_really_used() -> None:
    assert translator("fr").gettext("Did you mean:") != "Did you mean:"
    assert translator("zh").gettext("Did you mean:") != translator("ru").gettext("Did you mean:")
    assert "5" in translator("ru").ngettext(
        "Knowledge base reloaded: %(count)d topic.",
        "Knowledge base reloaded: %(count)d topics.",
        5,
    ) % {"count": 5}


@pytest.mark.parametrize(
    ("code", "lang"),
    [("fr-FR", "fr"), ("zh-hans", "zh"), ("zh-TW", "zh"), ("pt-BR", "pt"), ("sw", "sw"),
     ("de", None), ("", None), (None, None)],
)  # fmt: skip
def test_platform_codes_map_onto_our_languages(code: str | None, lang: str | None) -> None:
    assert supported(code) == lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("义乌国际商贸城几点开门", "zh"),
        ("谢谢！", "zh"),
        ("ما هي مدينة ووتشو القديمة؟", "ar"),
        ("Как добраться до Цзиньхуа?", "ru"),
        ("Comment se rendre au site de Shangshan ?", "fr"),
        ("¿Dónde está el mercado de Yiwu?", "es"),
        ("Onde fica o mercado de Yiwu?", "pt"),
        ("Soko la Yiwu liko wapi?", "sw"),
        ("Where is the Yiwu market?", "en"),
        ("Where is 婺州古城?", "en"),
        ("How do I get to 义乌国际商贸城 from the station?", "en"),
        ("Peut-on filmer une usine au 新能源汽车小镇 cette semaine ?", "fr"),
        ("请问 Yiwu market 的 opening hours 是几点？", "zh"),  # English terms, Chinese grammar
        ("Wuzhou Gucheng — كيف أصل إليها من المحطة؟", "ar"),
        ("Shangshan Yizhi Park: как туда доехать из Цзиньхуа?", "ru"),
        ("jinhua guoji chuanbo zhongxin shi shenme", "zh"),
    ],
)
def test_language_is_detected_from_script_and_words(
    knowledge: KnowledgeService, text: str, lang: str
) -> None:
    assert detect_language(text, knowledge.guess_latin_language) == lang


def test_resolution_order_is_saved_then_sentence_then_conversation_then_hint() -> None:
    assert resolve_language("ar", "fr", "你好") == "ar"
    assert resolve_language(None, "fr", "你好") == "zh"
    assert resolve_language(None, None, "你好") == "zh"
    assert resolve_language(None, None, "🙂") == "en"
    assert resolve_language(None, "fr", "🙂", previous="ru") == "ru"
    assert resolve_language(None, "fr", "🙂") == "fr"


def test_a_swahili_sentence_from_a_phone_set_to_english_gets_swahili(
    knowledge: KnowledgeService,
) -> None:
    text = "Habari, ninataka kujua jinsi ya kufika kwenye soko la Yiwu kesho asubuhi"
    assert resolve_language(None, "en", text, knowledge.guess_latin_language) == "sw"


@pytest.mark.parametrize(
    "text",
    ["ok", "no", "2", "Wuzhou?", "Shangshan", "婺州古城", "Учжоу?", "ووتشو", "ABC-123", "👍"],
)
def test_short_or_neutral_messages_never_switch_the_language(
    knowledge: KnowledgeService, text: str
) -> None:
    assert detect_language(text, knowledge.guess_latin_language) is None
    assert resolve_language(None, "en", text, knowledge.guess_latin_language, "fr") == "fr"


def test_dates_are_formatted_for_the_locale() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 12, 3, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert "2026" in translator("zh").datetime(moment) and "12" in translator("zh").datetime(moment)
    assert "déc" in translator("fr").datetime(moment)


def test_a_first_short_message_in_a_telling_script_sets_the_language() -> None:
    assert resolve_language(None, None, "Здравствуйте!") == "ru"
    assert resolve_language(None, None, "你好") == "zh"
    assert resolve_language(None, None, "مرحبا") == "ar"
    assert resolve_language(None, "en", "婺州古城") == "en"  # a name from an English phone
    assert resolve_language(None, None, "婺州古城", previous="fr") == "fr"  # nor mid-way


def test_a_first_two_word_message_with_clear_latin_words_sets_the_language(
    knowledge: KnowledgeService,
) -> None:
    def loose(text: str) -> str | None:
        return knowledge.guess_latin_language(text, loose=True)

    assert resolve_language(None, None, "aldeia histórica", first_guess=loose) == "pt"
    assert resolve_language(None, None, "Shangshan Yizhi", first_guess=loose) == "zh"
    assert resolve_language(None, None, "aldeia histórica", previous="fr",
                            first_guess=loose) == "fr"  # fmt: skip
    assert knowledge.guess_latin_language("aldeia histórica") is None  # never mid-way
