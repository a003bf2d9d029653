"""Which Latin-script language a message is in, from character trigrams.

Function words alone cannot tell "Nitafikaje Jinhua?" (Swahili) from English, so each
language gets a trigram profile learnt at start-up from the knowledge base's own texts in
that language, which the staff keep complete in all eight languages anyway.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

from bot.knowledge.lexicon import SMALL_TALK_BY_LANGUAGE, STOPWORDS
from bot.knowledge.pinyin import segment

LATIN_LANGUAGES = ("en", "fr", "es", "pt", "sw")
# A guess must beat the runner-up by this many nats per trigram, or we do not guess.
MIN_MARGIN = 0.05
# Longest text looked at; keeps the guess linear and bounded in the message's length.
MAX_GUESS_CHARS = 1000
# Fewer words than this never make a guess ("ok", "no", "Wuzhou?"); two words do only when
# one of them is a function word or greeting of the language ("et alors", "habari yako").
MIN_WORDS = 2
# A loose guess (two words, no function word) needs a clearer lead.
LOOSE_MARGIN = 0.15
# Fewest syllables for a message made only of pinyin to count as Chinese.
MIN_PINYIN_SYLLABLES = 4
# Each function word of a language ("por", "un") adds this to its per-trigram score: short
# messages have few trigrams, and function words are the surest clue they hold.
FUNCTION_WORD_BONUS = 0.3


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def _trigrams(text: str) -> Iterable[str]:
    for word in _normal(text).split():
        word = "".join(c for c in word if c.isalpha() or c == "'")
        if word:
            padded = f" {word} "
            yield from (padded[i : i + 3] for i in range(len(padded) - 2))


class LatinLanguageGuesser:
    """Naive Bayes over character trigrams, one profile per Latin-script language."""

    def __init__(self, samples: Mapping[str, Iterable[str]]) -> None:
        self._logp: dict[str, dict[str, float]] = {}
        self._floor: dict[str, float] = {}
        for lang in LATIN_LANGUAGES:
            counts = Counter(g for text in samples.get(lang, ()) for g in _trigrams(text))
            total = sum(counts.values()) + len(counts) + 1
            self._logp[lang] = {g: math.log((c + 1) / total) for g, c in counts.items()}
            self._floor[lang] = math.log(1 / total)

    def guess(self, text: str, loose: bool = False) -> str | None:
        """The language of a whole Latin-script sentence, or None if it is too short.
        `loose` also guesses from two words without a function word ("solicitar entrevista",
        "numéro d'urgence") when the trigrams are clear: for a first message, where the
        alternative is English by default, not the conversation's language."""
        text = text[:MAX_GUESS_CHARS]
        words = [w for w in _normal(text).split() if any(c.isalpha() for c in w)]
        if len(words) < MIN_WORDS:
            return None  # one word ("cancel", "Shangshan", "ok") is too little to tell
        if _is_pinyin(text):
            return "zh"
        grams = list(_trigrams(text))
        clues = [
            w for w in words if any(_is_clue(w.strip("?!.,¿¡"), lang) for lang in LATIN_LANGUAGES)
        ]
        if not grams or (len(words) == MIN_WORDS and not clues and not loose):
            return None
        scores = {
            lang: sum(self._logp[lang].get(g, self._floor[lang]) for g in grams) / len(grams)
            + FUNCTION_WORD_BONUS * sum(_is_clue(w.strip("?!.,¿¡"), lang) for w in words)
            for lang in LATIN_LANGUAGES
        }
        ranked = sorted(scores, key=lambda k: -scores[k])
        margin = LOOSE_MARGIN if loose and not clues else MIN_MARGIN
        if scores[ranked[0]] - scores[ranked[1]] < margin:
            return None
        return ranked[0]


def _is_clue(word: str, lang: str) -> bool:
    return word in STOPWORDS[lang] or word in SMALL_TALK_BY_LANGUAGE[lang]


def _is_pinyin(text: str) -> bool:
    """Only pinyin words, none a function word of another language, and no lone-vowel
    syllables, which real pinyin rarely has but "asante" (a-san-te) does."""
    tokens = [t for t in _normal(text).split() if t.isalpha()]
    parts = [segment(t) if t.isascii() else None for t in tokens]
    if len(tokens) < 2 or not all(parts):
        return False
    syllables = [syllable for p in parts if p for syllable in p]
    if any(len(syllable) == 1 for syllable in syllables):
        return False
    if any(t in STOPWORDS[lang] for t in tokens for lang in LATIN_LANGUAGES):
        return False
    return len(syllables) >= MIN_PINYIN_SYLLABLES
