"""Script-aware normalisation and tokenisation shared by the index and the queries.

Latin, Cyrillic and Arabic text is split into words; Chinese has no spaces, so runs of Han
characters become overlapping character bigrams (rapidfuzz's token scorers split on spaces
only, which would turn a whole Chinese sentence into one token).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Longest text we look at: a question never needs more, and it bounds the work per message.
MAX_QUERY_CHARS = 600

_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "ی": "ي",  # Persian yeh, common on phone keyboards
        "ک": "ك",
        "ـ": None,  # tatweel only stretches a word
    }
)
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "ال", "لل")
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN}]+|[^\W\d_{_HAN}]+|\d+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")


def fold(text: str) -> str:
    """NFKC, case-fold, drop accents, tashkeel, control and format characters."""
    text = unicodedata.normalize("NFKC", text[:MAX_QUERY_CHARS]).casefold()
    text = text.translate(_ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFD", text)
    kept = (c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cc", "Cf"))
    return unicodedata.normalize("NFC", "".join(kept))


QUESTION_MARKS = "?？؟"


def asks(text: str) -> bool:
    """Whether the text holds a question mark, in any of our scripts."""
    return any(mark in text for mark in QUESTION_MARKS)


_WORD = re.compile(r"[^\W\d_]+")
# After these a capital letter starts a sentence or a quotation, not a name.
_SENTENCE_OPENERS = frozenset('.!?¿¡:;«"“„(-–—')


def proper_names(text: str, skip_after: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Folded words that start with a capital letter inside a sentence, and acronyms: names
    ("Hemudu", "BYD", "Dubaï"), as far as capitals tell; the first word of a sentence is not
    counted, nor a word right after one of `skip_after`."""
    text = text[:MAX_QUERY_CHARS]
    found: list[str] = []
    previous = ""
    for match in _WORD.finditer(text):
        word, before = match.group(), text[max(0, match.start() - 3) : match.start()].rstrip()
        inside = bool(before) and before[-1] not in _SENTENCE_OPENERS
        acronym = len(word) > 1 and word.isupper()  # "BYD", even first in a sentence
        if word[0].isupper() and (inside or acronym) and previous not in skip_after:
            found.extend(words(fold(word)))
        previous = fold(word)
    return tuple(found)


def is_han(token: str) -> bool:
    return bool(_HAN_RUN.fullmatch(token))


def _strip_arabic_article(word: str) -> str:
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix) :]
    return word


def han_grams(run: str) -> list[str]:
    """Character bigrams of a Han run; a lone character stands for itself."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def words(folded: str) -> list[str]:
    """Word tokens and Han runs of already folded text, in order."""
    out = []
    for token in _TOKEN.findall(folded):
        if "\u0600" <= token[0] <= "\u06ff":
            token = _strip_arabic_article(token)
        out.append(token)
    return out


def terms(text: str) -> list[str]:
    """The index terms of a text: words, plus Han bigrams in place of Han runs."""
    out: list[str] = []
    for token in words(fold(text)):
        out.extend(han_grams(token) if is_han(token) else [token])
    return out


def script_counts(text: str) -> dict[str, int]:
    """How many letters of each script a text has (han, arabic, cyrillic, latin)."""
    counts = {"han": 0, "arabic": 0, "cyrillic": 0, "latin": 0}
    for char in text[:MAX_QUERY_CHARS]:
        if not char.isalpha():
            continue
        if _HAN_RUN.match(char):
            counts["han"] += 1
        elif "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f":
            counts["arabic"] += 1
        elif "\u0400" <= char <= "\u04ff":
            counts["cyrillic"] += 1
        elif char.isascii() or "\u00c0" <= char <= "\u024f":
            counts["latin"] += 1
    return counts


_STEMMER_NAMES = {
    "latin": ("english", "french", "spanish", "portuguese"),
    "cyrillic": ("russian",),
    "arabic": ("arabic",),
}
MIN_STEM_WORD = 4  # shorter words are left as they are: stems of "sao", "les" mislead


@lru_cache(maxsize=8)
def _stemmer(name: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(name)


_STEMMER_OF_LANGUAGE = {
    "en": "english",
    "fr": "french",
    "es": "spanish",
    "pt": "portuguese",
    "ru": "russian",
    "ar": "arabic",
}


@lru_cache(maxsize=65536)
def stems(word: str, lang: str | None = None) -> tuple[str, ...]:
    """Snowball stems of a folded word ("деревню" -> "деревн", "horaires" -> "horair"): in
    `lang` when known (the knowledge base's texts), else in every language of its script
    (a question). Swahili and Chinese have no stemmer and get none."""
    if len(word) < MIN_STEM_WORD or word.isdigit():
        return ()
    if lang is not None:
        name = _STEMMER_OF_LANGUAGE.get(lang)
        stem = _stemmer(name).stemWord(word) if name else ""
        return (stem,) if len(stem) >= 3 else ()
    if "\u0600" <= word[0] <= "\u06ff":
        script = "arabic"
    elif "\u0400" <= word[0] <= "\u04ff":
        script = "cyrillic"
    elif word.isascii():
        script = "latin"
    else:
        return ()
    found = {_stemmer(name).stemWord(word) for name in _STEMMER_NAMES[script]}
    return tuple(sorted(s for s in found if len(s) >= 3))
