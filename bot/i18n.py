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


def detect_language(text: str, latin: LatinGuess | None = None) -> str | None:
    """Guess a message's language from its script; Latin script is left to `latin`."""
    counts = script_counts(text)
    script = max(counts, key=lambda k: counts[k])
    if counts[script] == 0:
        return None
    if script == "latin":
        return latin(text) if latin else None
    return {"han": "zh", "arabic": "ar", "cyrillic": "ru"}[script]


def resolve_language(
    saved: str | None,
    hint: str | None,
    text: str,
    latin: LatinGuess | None = None,
    previous: str | None = None,
) -> str:
    """Saved choice, else the platform's language, else the text's, else the language of
    the conversation so far ("2", "😊" say nothing), else English."""
    return saved or supported(hint) or detect_language(text, latin) or previous or DEFAULT_LANGUAGE
