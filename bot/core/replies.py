"""The few replies the core itself gives, whatever features are installed."""

from __future__ import annotations

from bot.core.types import Button, Reply
from bot.i18n import translator


def apology(lang: str) -> Reply:
    """Something failed on our side; the person may try again."""
    t = translator(lang)
    return Reply(t.gettext("Sorry, something went wrong on my side. Please try again."), lang)


def flood_notice(lang: str) -> Reply:
    """Told once to someone sending faster than a person types."""
    text = translator(lang).gettext(
        "You are sending messages very fast. Please wait a few seconds."
    )
    return Reply(text, lang)


def expired_button(lang: str, menu: tuple[Button, ...] = ()) -> Reply:
    """A button from an old message, or forged data; the menu to start again."""
    text = translator(lang).gettext("This button is no longer valid. Please ask again.")
    return Reply(text, lang, menu)


def choose_number(lang: str, choices: tuple[str, ...]) -> Reply:
    """A number outside the numbered choices just shown."""
    t = translator(lang)
    text = t.gettext("Please choose a number from 1 to %(count)d.") % {"count": len(choices)}
    return Reply(text, lang, tuple(Button(str(i + 1), p) for i, p in enumerate(choices)))


def unknown_command(lang: str, command: str) -> Reply:
    """A command nobody registered."""
    text = translator(lang).gettext(
        "Unknown command %(command)s. Type /help to see what I can do."
    ) % {"command": command[:40]}
    return Reply(text, lang)


def staff_only(lang: str) -> Reply:
    """A staff command typed by someone else."""
    text = translator(lang).gettext("Sorry, this command is for the centre's staff only.")
    return Reply(text, lang)


def private_only(lang: str) -> Reply:
    """Something that shows personal or staff data, asked for in a group chat."""
    text = translator(lang).gettext(
        "Please write to me in a private chat for this: I don't show it in groups."
    )
    return Reply(text, lang)


def nothing_to_cancel(lang: str, menu: tuple[Button, ...] = ()) -> Reply:
    """ "cancel", "算了", "stop" typed when no form is open."""
    text = translator(lang).gettext(
        "There is nothing to cancel. Ask me a question, or pick a topic:"
    )
    return Reply(text, lang, menu)
