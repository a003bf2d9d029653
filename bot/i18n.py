"""Translations, locale negotiation and language detection.

Catalogs are the `.po` files in locales/, compiled in memory with Babel when first needed,
so there is no build step and no stale `.mo` to forget. The locale is resolved once per
message and carried explicitly; nothing installs a process-wide `_`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from bot.knowledge.model import LANGUAGES
from bot.knowledge.text import script_counts

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_NAMES", "N_", "Translator", "translator"]

DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
BABEL_LOCALES = {"zh": "zh_Hans_CN", "pt": "pt_BR"}
LANGUAGE_NAMES = {
    "en": "English",
    "zh": "中文",
    "fr": "Français",
    "es": "Español",
    "ar": "العربية",
    "ru": "Русский",
    "pt": "Português",
    "sw": "Kiswahili",
}


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


class Translator:
    """One language's gettext functions and Babel formatting."""

    def __init__(self, lang: str, translations: NullTranslations) -> None:
        self.lang = lang
        self._translations = translations
        self.locale = Locale.parse(BABEL_LOCALES.get(lang, lang))

    def gettext(self, message: str) -> str:
        return str(self._translations.gettext(message))

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return str(self._translations.ngettext(singular, plural, count))

    def datetime(self, moment: datetime, fmt: str = "medium") -> str:
        return str(format_datetime(moment, fmt, tzinfo=moment.tzinfo, locale=self.locale))


@cache
def translator(lang: str, locales_dir: Path = LOCALES_DIR) -> Translator:
    """The Translator for a language, compiled from its .po file on first use."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    po_path = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return Translator(lang, NullTranslations())
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=BABEL_LOCALES.get(lang, lang))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translator(lang, Translations(buffer, domain=DOMAIN))


def supported(code: str | None) -> str | None:
    """Map a platform language code ("fr-FR", "zh-hans", "pt_BR") onto one of ours."""
    if not code:
        return None
    code = code.replace("-", "_")
    return negotiate_locale([code, code.split("_")[0]], list(LANGUAGES), sep="_")


LatinGuess = Callable[[str], str | None]


# Longest text looked at to tell a language: enough for any sentence, and it keeps the work
# per message bounded (a 100,000-character message costs what 1,000 characters cost).
MAX_DETECT_CHARS = 1000
# A message in a non-Latin script counts as a sentence in that language from this many
# letters of it and two words ("Учжоу?", "ووتشو" or a Chinese name alone never switch).
MIN_SCRIPT_LETTERS = 6
MIN_SCRIPT_WORDS = 2
# Words of Arabic or Cyrillic script that make a sentence of that language, whatever Latin
# names or terms it holds ("Pujiang Shangshan Yizhi Gongyuan — كيف أزوره وهل يحتاج حجزاً؟").
MIN_GRAMMAR_WORDS = 3
# Chinese has no spaces: a sentence is 6 or more characters, or 2 or more with a function
# character or greeting that names never hold ("是免费的吗？", "你好", not "婺州古城").
MIN_HAN_SENTENCE = 6
_HAN_FUNCTION_CHARS = frozenset("吗呢吧么什怎哪是的了有在我你您能可要去几多谁好请")
_HAN_SMALL_TALK = ("谢谢", "多谢", "感谢", "你好", "您好", "再见")  # "谢谢！" is a whole sentence


def detect_language(text: str, latin: LatinGuess | None = None) -> str | None:
    """The language of a whole sentence, or None when the message is too short or neutral
    to tell ("ok", "2", "Wuzhou?", a name, a code). Script decides zh, ar and ru; Latin
    script is left to `latin`, which must itself refuse to guess on too little."""
    text = text[:MAX_DETECT_CHARS]
    counts = script_counts(text)
    script = max(counts, key=lambda k: counts[k])
    if counts[script] == 0:
        return None
    if script == "latin":
        # "想拍 China-Europe Railway Express 的装柜过程，接受 media 采访吗？": English words in a
        # Chinese (or Arabic, Russian) sentence; not "How do I get to 义乌国际商贸城?".
        return _grammar_language(text, counts) or (latin(text) if latin else None)
    if script == "han":
        return "zh" if _chinese_sentence(text, counts["han"], MIN_HAN_SENTENCE) else None
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    if counts[script] < MIN_SCRIPT_LETTERS or len(words) < MIN_SCRIPT_WORDS:
        return None
    return {"arabic": "ar", "cyrillic": "ru"}[script]


def _chinese_sentence(text: str, han: int, enough: int) -> bool:
    """Enough Han characters for a sentence, or a few with a function character or greeting,
    which names never hold ("是免费的吗？", "你好", not "婺州古城")."""
    has_function = any(c in _HAN_FUNCTION_CHARS for c in text) or any(
        word in text for word in _HAN_SMALL_TALK
    )
    return han >= enough or (han >= 2 and has_function)


def _grammar_language(text: str, counts: dict[str, int]) -> str | None:
    """The language whose grammar a mostly-Latin message is written in, when that is
    Chinese, Arabic or Russian: their words around it, not just a name."""
    # Two function characters: one may be part of a name (新能源汽车小镇 holds 能).
    if sum(c in _HAN_FUNCTION_CHARS for c in text) >= 2:
        return "zh"
    for script, lang in (("arabic", "ar"), ("cyrillic", "ru")):
        words = [w for w in text.split() if script_counts(w)[script] >= 2]
        if len(words) >= MIN_GRAMMAR_WORDS:
            return lang
    return None


def resolve_language(
    saved: str | None,
    hint: str | None,
    text: str,
    latin: LatinGuess | None = None,
    previous: str | None = None,
    first_guess: LatinGuess | None = None,
) -> str:
    """The reply language: the /language choice, else the language of a whole sentence the
    person wrote (a Swahili sentence from a phone set to English gets Swahili), else the
    language of the conversation so far ("ok", "2", a name never switch it), else the
    platform's language, else the script of a first short message ("Здравствуйте!" on the
    console) or `first_guess` of its Latin words ("solicitar entrevista"), else English."""
    return (
        saved
        or detect_language(text, latin)
        or previous
        or supported(hint)
        or script_language(text)
        or (first_guess(text) if first_guess else None)
        or DEFAULT_LANGUAGE
    )


def script_language(text: str) -> str | None:
    """The one language of ours a script belongs to (Han, Arabic, Cyrillic), however short."""
    counts = script_counts(text[:MAX_DETECT_CHARS])
    script = max(counts, key=lambda k: counts[k])
    if counts[script] == 0 or script == "latin":
        return None
    return {"han": "zh", "arabic": "ar", "cyrillic": "ru"}[script]
