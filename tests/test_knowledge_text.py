"""Checks on what the knowledge base says, in every language."""

from __future__ import annotations

import re

from bot.knowledge.service import KnowledgeService

_SPACE_AFTER_CJK_PUNCTUATION = re.compile(r"[，。：；！？、）》」』”] ")


def _texts(knowledge: KnowledgeService, lang: str) -> list[tuple[str, str]]:
    out = []
    for topic in knowledge.topics():
        out.append((topic.id, topic.name(lang)))
        out.append((topic.id, topic.text(lang)))
        out += [(topic.id, topic.text(lang, facet)) for facet in topic.facets]
    return out


def test_no_stray_space_after_chinese_punctuation(knowledge: KnowledgeService) -> None:
    stray = [
        (tid, t[:60])
        for tid, t in _texts(knowledge, "zh")
        if _SPACE_AFTER_CJK_PUNCTUATION.search(t)
    ]
    assert not stray


def test_the_30000_residents_belong_to_the_community(knowledge: KnowledgeService) -> None:
    topic = knowledge.topic("jimingshan-community")
    assert topic is not None
    assert "江东街道约3万" not in topic.text("zh")
    assert "residents in Jiangdong Sub-district" not in topic.text("en")


def test_director_is_not_chairman_and_publicity_is_not_advertising(
    knowledge: KnowledgeService,
) -> None:
    for lang in ("zh", "fr", "es", "pt"):
        for tid, text in _texts(knowledge, lang):
            assert "陈凯峰" not in text or "董事长陈凯峰" not in text, tid
            lowered = text.casefold()
            assert "département de la publicité" not in lowered, tid
            assert "departamento de publicidad" not in lowered, tid
            assert "departamento de publicidade" not in lowered, tid


def test_nev_town_is_translated(knowledge: KnowledgeService) -> None:
    for lang in ("zh", "fr", "es", "ar", "ru", "pt", "sw"):
        assert not [tid for tid, t in _texts(knowledge, lang) if "NEV Town" in t], lang
