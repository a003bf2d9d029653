"""Normalisation, tokenisation and pinyin: the ground every match stands on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.knowledge import pinyin
from bot.knowledge.text import MAX_QUERY_CHARS, fold, proper_names, terms


def test_fold_removes_case_accents_and_control_characters() -> None:
    assert fold("Cité ÉTÉ\x00\u200b") == "cite ete"
    assert fold("Ｙｉｗｕ") == "yiwu"  # full-width letters from Chinese keyboards


def test_arabic_letters_and_article_are_normalised() -> None:
    assert terms("المدينة القديمة") == terms("مدينه قديمة")
    assert terms("أين") == terms("اين")


def test_chinese_becomes_character_bigrams() -> None:
    assert terms("义乌商贸城") == ["义乌", "乌商", "商贸", "贸城"]
    assert terms("Where is 婺州古城?") == ["where", "is", "婺州", "州古", "古城"]


def test_pinyin_segmentation() -> None:
    assert pinyin.segment("shangmaocheng") == ["shang", "mao", "cheng"]
    assert pinyin.segment("market") is None
    assert pinyin.han_to_syllables("义乌") == ["yi", "wu"]


def test_frozen_syllables_match_pypinyin() -> None:
    assert pinyin.derive_syllables() == pinyin.SYLLABLES


@given(st.text(max_size=3000))
def test_any_text_tokenises_without_error(text: str) -> None:
    result = terms(text)
    assert all(isinstance(t, str) and t for t in result)
    assert sum(len(t) for t in result) <= 2 * MAX_QUERY_CHARS


def test_proper_names_are_capitalised_words_inside_a_sentence() -> None:
    text = "Hi! Le site de Hemudu, près de Ningbo? I am Tunde from Lagos. BYD sales?"
    assert proper_names(text, frozenset({"from"})) == ("hemudu", "ningbo", "tunde", "byd")
