"""Pinyin for Chinese names, so "yiwu shangmaocheng" finds 义乌商贸城.

Both sides meet as toneless syllable bigrams: Han text is converted with pypinyin, and a
Latin word is split into syllables when it is made of nothing else.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable

_MAX_SYLLABLE = 6  # "zhuang", "shuang"
# Longer words are not read as pinyin: no name is this long, and it bounds the work per word
# ("a" * 100,000 would otherwise build 100,000 candidate lists).
MAX_PINYIN_WORD = 40


def _toneless(reading: str) -> str:
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


# Toneless syllables pypinyin knows, less interjection-only ones ("m", "ng", "hm") that would
# let ordinary words split into pinyin. Frozen here because deriving them from pypinyin's
# 42,000-entry dictionary costs a quarter of a second at start-up; a test keeps them in step.
_SYLLABLE_TEXT = (
    "a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong "
    "bu ca cai can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong "
    "chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai "
    "dan dang dao de dei den deng di dia dian diao die din ding diu dong dou du duan dui dun "
    "duo e ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan gang gao ge gei "
    "gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng "
    "hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong "
    "jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang "
    "kui kun kuo la lai lan lang lao le lei len leng li lia lian liang liao lie lin ling liu "
    "lo long lou lu luan lue lun luo ma mai man mang mao me mei men meng mi mian miao mie min "
    "ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nia nian niang niao nie nin "
    "ning niu nong nou nu nuan nue nun nuo o ou pa pai pan pang pao pei pen peng pi pian piao "
    "pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran "
    "rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng "
    "sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui "
    "shun shuo si song sou su suan sui sun suo ta tai tan tang tao te tei teng ti tian tiao "
    "tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wong wu xi xia "
    "xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo "
    "yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao "
    "zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong "
    "zou zu zuan zui zun zuo "
)
SYLLABLES = frozenset(_SYLLABLE_TEXT.split())


def derive_syllables() -> frozenset[str]:
    """Recompute SYLLABLES from pypinyin (used by the test that keeps the constant honest)."""
    from pypinyin.pinyin_dict import pinyin_dict

    found: set[str] = set()
    for readings in pinyin_dict.values():
        found.update(_toneless(r) for r in readings.split(","))
    return frozenset(
        s for s in found if s.isalpha() and s.isascii() and any(v in s for v in "aeiouv")
    )


def segment(word: str) -> list[str] | None:
    """Split a Latin word into pinyin syllables (fewest first), or None if it is not pinyin."""
    known = SYLLABLES
    if len(word) > MAX_PINYIN_WORD:
        return None
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _MAX_SYLLABLE), end):
            head = best[start]
            if head is not None and word[start:end] in known:
                candidate = [*head, word[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)]


def han_to_syllables(han: str) -> list[str]:
    """Toneless syllables of a Han run, using pypinyin's phrase dictionary for readings."""
    from pypinyin import Style, lazy_pinyin

    return [s for s in lazy_pinyin(han, style=Style.NORMAL, v_to_u=False) if s.isalpha()]


def bigrams(syllable_seq: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in itertools.pairwise(syllable_seq)]


def latin_syllables(words: Iterable[str]) -> list[list[str]]:
    """Runs of consecutive Latin words that are all pinyin, as syllable lists."""
    runs: list[list[str]] = []
    current: list[str] = []
    for word in words:
        parts = segment(word) if word.isascii() and word.isalpha() else None
        if parts:
            current.extend(parts)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs
